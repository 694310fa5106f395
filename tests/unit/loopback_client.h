#pragma once
// Client-side helpers for the server tests: a loopback TCP connection with a receive timeout,
// and a read loop that stops at an expected text or when the peer closes.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace budgetgate::server::testing {

// A blocking socket connected to 127.0.0.1:port, with a 10 s receive timeout; -1 on failure.
inline int connectLoopback(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline int occurrences(const std::string& s, const std::string& what) {
  int n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// Calls read(buffer, size) (bytes read; 0 when the peer closed; < 0 on an error such as the
// receive timeout) until `until` has appeared `times` times or the connection ended. *closed
// tells whether it ended because the peer closed it.
template <typename Read>
std::string receiveUntil(Read read, const std::string& until, int times, bool* closed) {
  std::string out;
  char buf[4096];
  for (;;) {
    const auto n = read(buf, sizeof buf);
    if (n <= 0) {
      *closed = n == 0;
      return out;
    }
    out.append(buf, static_cast<std::size_t>(n));
    if (!until.empty() && occurrences(out, until) >= times) return out;
  }
}

}  // namespace budgetgate::server::testing
