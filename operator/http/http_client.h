#pragma once
// An HTTP(S) client for the API server and Prometheus: TLS with a custom CA or client
// certificates (from files or inline PEM, as kubeconfig allows), bearer or basic auth, a
// timeout, and transport errors reported as values rather than exceptions.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace budgetgate::http {

struct ClientOptions {
  std::string baseUrl;  // scheme://host:port[/prefix]
  std::chrono::milliseconds timeout{10000};
  // TLS
  std::string caFile;
  std::string caPem;  // inline (kubeconfig certificate-authority-data, decoded)
  std::string clientCertFile;
  std::string clientCertPem;
  std::string clientKeyFile;
  std::string clientKeyPem;
  bool insecureSkipVerify = false;
  // An http:// proxy every request goes through (https targets by CONNECT); empty: direct.
  std::string proxyUrl;
  // Auth: a bearer token (or a file re-read on every request, for rotated tokens), or basic.
  std::string bearerToken;
  std::string bearerTokenFile;
  // Asked for the token on every request when set (a kubeconfig exec plugin, which caches it);
  // empty answers send no Authorization header.
  std::function<std::string()> bearerTokenSource = {};
  std::string username;
  std::string password;
  // Sent with every request (kubectl's --as: Impersonate-User / Impersonate-Group).
  std::vector<std::pair<std::string, std::string>> headers;
};

enum class Transport { Ok, Timeout, Unreachable, TlsError, Cancelled };
const char* transportName(Transport t);

struct Response {
  Transport transport = Transport::Ok;
  int status = 0;
  std::string body;
  std::string error;  // transport error text
  std::string header(const std::string& name) const;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Request {
  std::string method = "GET";
  std::string pathAndQuery;  // "/api/v1/query?query=..."
  std::string body;
  std::string contentType;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Receives response body chunks as they arrive (for watches); return false to stop.
using ChunkHandler = std::function<bool(std::string_view chunk)>;

class Client {
 public:
  // Throws std::invalid_argument for a malformed URL or unreadable TLS material: those are
  // configuration errors the caller reports at start-up.
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Response send(const Request& request);
  // Streams the body to `onChunk`; the Response's body stays empty. The timeout applies to the
  // wait for each chunk (`idleTimeout`), not to the whole stream.
  Response stream(const Request& request, std::chrono::milliseconds idleTimeout,
                  const ChunkHandler& onChunk);

  // Aborts every request in flight (e.g. long watches at shutdown); they end as Cancelled.
  void cancelAll();

  const ClientOptions& options() const { return options_; }

 private:
  class Impl;
  ClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes a query parameter value or form field.
std::string urlEncode(std::string_view text);

}  // namespace budgetgate::http
