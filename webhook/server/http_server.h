#pragma once
// A small HTTP/1.1 server on Asio (Beast's request parser; TLS by OpenSSL directly on the
// socket, or plain for metrics): keep-alive and pipelining, a synchronous handler run on the
// I/O threads (handlers are expected to take microseconds: the admission decision reads an
// in-memory cache).
//
// Anyone who can reach the port can open connections and send bytes without credentials, so
// what that can cost is bounded: open connections (at the limit the one idle the longest is
// closed, else the newcomer), request body bytes being received at once (beyond the budget: a
// 503), the time a request may take to arrive once begun, and the memory an idle connection
// keeps (its read buffers are given back). Running out of file descriptors pauses accept()
// instead of spinning on it.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "webhook/server/certificate_store.h"
#include "webhook/server/server_stats.h"

namespace budgetgate::server {

struct HttpRequest {
  std::string method;
  std::string target;  // path and query
  std::string contentType;
  std::string body;
  std::string authorization = {};  // the Authorization header (the decision API's token)
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  // Further header fields (name, value), e.g. the status page's Content-Security-Policy.
  // Values must not contain CR or LF; serialize() drops a field that does.
  std::vector<std::pair<std::string, std::string>> headers = {};
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct ServerOptions {
  std::string address = "0.0.0.0";
  unsigned short port = 8443;  // 0 picks a free port
  std::size_t threads = 2;
  std::size_t maxBodyBytes = 3 * 1024 * 1024;  // the API server sends at most ~3 MiB objects
  // Keep-alive: how long a connection may wait for its next request.
  std::chrono::seconds idleTimeout{60};
  // Once the first byte of a request has arrived, the whole request must have arrived within
  // this (the API server gives a webhook at most 30 s, budgetgate's configuration 5 s).
  std::chrono::seconds requestTimeout{10};
  // Open connections at most; also kept below RLIMIT_NOFILE minus reservedFileDescriptors
  // (the process's other sockets and files).
  std::size_t maxConnections = 1024;
  std::size_t reservedFileDescriptors = 64;
  // Request body bytes being received at once, across connections (BodyBudget in
  // connection_limits.h); bodies above largeBodyBytes may fill only three quarters of it.
  std::size_t maxInflightBodyBytes = 32 * 1024 * 1024;
  std::size_t largeBodyBytes = 256 * 1024;
  std::chrono::seconds certificateCheckInterval{10};
  std::shared_ptr<CertificateStore> certificates;  // null: plain HTTP
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads; throws std::runtime_error if the port is taken. Sets
  // SIGPIPE to be ignored process-wide (a client that hangs up must not end the process).
  void start();
  void stop();
  // Graceful shutdown, in two steps, for a replica leaving a load-balanced Service.
  // beginDrain(): keep accepting and answering, but every response closes its connection
  // (Connection: close), so clients open new connections, which the Service sends to other
  // replicas once this one is out of its endpoints.
  void beginDrain();
  // Stops accepting, closes the idle connections, waits up to `timeout` for the requests in
  // progress to be answered (each on a closing connection), then stops as stop() does.
  void drainAndStop(std::chrono::milliseconds timeout);
  unsigned short port() const;
  // The connection limit in force: maxConnections, or less when RLIMIT_NOFILE is low.
  std::size_t maxConnections() const;
  const ServerStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace budgetgate::server
