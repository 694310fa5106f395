#pragma once
// Counters of the HTTP server, read by /metrics while the I/O threads update them.

#include <atomic>

namespace budgetgate::server {

struct ServerStats {
  std::atomic<long long> connections{0};  // accepted and admitted
  std::atomic<long long> requests{0};
  std::atomic<long long> rejectedTooLarge{0};
  std::atomic<long long> malformed{0};
  std::atomic<long long> tlsHandshakeFailures{0};
  // Answered 503: the request bodies already being received use up the in-flight budget.
  std::atomic<long long> rejectedOverloaded{0};
  // Closed because a request that had begun did not arrive whole within the request timeout.
  std::atomic<long long> requestTimeouts{0};
  // Idle connections closed to make room for a new one (at the connection limit, or when
  // accept() ran out of file descriptors).
  std::atomic<long long> connectionsShed{0};
  // New connections closed at once: at the connection limit with none idle.
  std::atomic<long long> connectionsRefused{0};
  // accept() failures (EMFILE, ENFILE, ENOBUFS...), each followed by a pause.
  std::atomic<long long> acceptErrors{0};
  // Gauges.
  std::atomic<long long> openConnections{0};
  std::atomic<long long> inflightBodyBytes{0};  // reserved for request bodies being received
};

}  // namespace budgetgate::server
