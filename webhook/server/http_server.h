#pragma once
// A small HTTP/1.1 server on Asio (Beast's request parser; TLS by OpenSSL directly on the
// socket, or plain for metrics): keep-alive and pipelining, request size and idle limits, a
// synchronous handler run on the I/O threads (handlers are expected to take microseconds: the
// admission decision reads an in-memory cache).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "webhook/server/certificate_store.h"

namespace budgetgate::server {

struct HttpRequest {
  std::string method;
  std::string target;  // path and query
  std::string contentType;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct ServerOptions {
  std::string address = "0.0.0.0";
  unsigned short port = 8443;  // 0 picks a free port
  std::size_t threads = 2;
  std::size_t maxBodyBytes = 3 * 1024 * 1024;  // the API server sends at most ~3 MiB objects
  std::chrono::seconds idleTimeout{60};
  std::chrono::seconds certificateCheckInterval{10};
  std::shared_ptr<CertificateStore> certificates;  // null: plain HTTP
};

struct ServerStats {
  std::atomic<long long> connections{0};
  std::atomic<long long> requests{0};
  std::atomic<long long> rejectedTooLarge{0};
  std::atomic<long long> malformed{0};
  std::atomic<long long> tlsHandshakeFailures{0};
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
  unsigned short port() const;
  const ServerStats& stats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace budgetgate::server
