#include "operator/http/http_client.h"

#include <cpprest/http_client.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <cctype>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <system_error>

namespace budgetgate::http {
namespace {

namespace cpr = web::http::client;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string base64(std::string_view in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = -6;
  for (unsigned char c : in) {
    value = (value << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kTable[(value >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kTable[((value << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

Transport classify(const std::error_code& ec, const std::string& what) {
  if (ec == std::errc::timed_out || what.find("timed out") != std::string::npos) {
    return Transport::Timeout;
  }
  if (what.find("ssl") != std::string::npos || what.find("SSL") != std::string::npos ||
      what.find("certificate") != std::string::npos ||
      what.find("handshake") != std::string::npos) {
    return Transport::TlsError;
  }
  return Transport::Unreachable;
}

}  // namespace

const char* transportName(Transport t) {
  switch (t) {
    case Transport::Ok:
      return "ok";
    case Transport::Timeout:
      return "timeout";
    case Transport::Unreachable:
      return "unreachable";
    case Transport::TlsError:
      return "tls-error";
    case Transport::Cancelled:
      return "cancelled";
  }
  return "?";
}

std::string Response::header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

class Client::Impl {
 public:
  explicit Impl(const ClientOptions& o) : options_(o) {
    // Resolve TLS material now so that a bad path fails at start-up, not on first use.
    caPem_ = o.caPem;
    if (!o.caFile.empty()) caPem_ += readFile(o.caFile);
    certPem_ = o.clientCertPem.empty() && !o.clientCertFile.empty() ? readFile(o.clientCertFile)
                                                                    : o.clientCertPem;
    keyPem_ = o.clientKeyPem.empty() && !o.clientKeyFile.empty() ? readFile(o.clientKeyFile)
                                                                 : o.clientKeyPem;
    if (!o.bearerTokenFile.empty()) (void)readFile(o.bearerTokenFile);
    try {
      web::uri uri(utility::conversions::to_string_t(o.baseUrl));
      if (uri.scheme() != "http" && uri.scheme() != "https") {
        throw std::invalid_argument("scheme must be http or https");
      }
      if (uri.host().empty()) throw std::invalid_argument("no host");
      uri_ = uri;
    } catch (const web::uri_exception& e) {
      throw std::invalid_argument("malformed URL \"" + o.baseUrl + "\": " + e.what());
    }
    if (!o.proxyUrl.empty()) {
      try {
        proxy_ = web::uri(utility::conversions::to_string_t(o.proxyUrl));
      } catch (const web::uri_exception& e) {
        throw std::invalid_argument("malformed proxy URL \"" + o.proxyUrl + "\": " + e.what());
      }
      if (proxy_.scheme() != "http" || proxy_.host().empty()) {
        throw std::invalid_argument("proxy URL \"" + o.proxyUrl + "\": expected http://host:port");
      }
    }
    requestClient_ = makeClient(o.timeout);
  }

  std::unique_ptr<cpr::http_client> makeClient(std::chrono::milliseconds timeout) const {
    cpr::http_client_config cfg;
    cfg.set_timeout(timeout);
    cfg.set_validate_certificates(!options_.insecureSkipVerify);
    if (!proxy_.is_empty()) cfg.set_proxy(web::web_proxy(proxy_));
    const std::string ca = caPem_, cert = certPem_, key = keyPem_;
    cfg.set_ssl_context_callback([ca, cert, key](boost::asio::ssl::context& ctx) {
      boost::system::error_code ignored;
      if (!ca.empty()) ctx.add_certificate_authority(boost::asio::buffer(ca), ignored);
      if (!cert.empty()) ctx.use_certificate_chain(boost::asio::buffer(cert), ignored);
      if (!key.empty()) {
        ctx.use_private_key(boost::asio::buffer(key), boost::asio::ssl::context::pem, ignored);
      }
    });
    return std::make_unique<cpr::http_client>(uri_, cfg);
  }

  web::http::http_request build(const Request& r) const {
    web::http::http_request req(utility::conversions::to_string_t(r.method));
    req.set_request_uri(utility::conversions::to_string_t(r.pathAndQuery));
    if (!r.body.empty() || r.method == "POST" || r.method == "PATCH" || r.method == "PUT") {
      req.set_body(r.body, r.contentType.empty() ? std::string("application/json") : r.contentType);
    }
    for (const auto& [k, v] : r.headers) req.headers().add(k, v);
    for (const auto& [k, v] : options_.headers) req.headers().add(k, v);
    if (options_.bearerTokenSource) {
      const auto token = options_.bearerTokenSource();
      if (!token.empty()) req.headers().add("Authorization", "Bearer " + token);
    } else if (!options_.bearerTokenFile.empty()) {
      std::string token;
      try {
        token = trim(readFile(options_.bearerTokenFile));
      } catch (const std::exception&) {
      }
      if (!token.empty()) req.headers().add("Authorization", "Bearer " + token);
    } else if (!options_.bearerToken.empty()) {
      req.headers().add("Authorization", "Bearer " + options_.bearerToken);
    } else if (!options_.username.empty()) {
      req.headers().add("Authorization",
                        "Basic " + base64(options_.username + ":" + options_.password));
    }
    return req;
  }

  pplx::cancellation_token token() {
    std::lock_guard lock(mutex_);
    return cancel_.get_token();
  }

  void cancelAll() {
    std::lock_guard lock(mutex_);
    cancel_.cancel();
    cancel_ = pplx::cancellation_token_source();
  }

  template <typename Body>
  Response run(cpr::http_client& client, const Request& r, Body&& readBody) {
    Response out;
    try {
      auto response = client.request(build(r), token()).get();
      out.status = response.status_code();
      for (const auto& [k, v] : response.headers()) out.headers.emplace_back(k, v);
      readBody(response, out);
    } catch (const web::http::http_exception& e) {
      out.transport = classify(e.error_code(), e.what());
      out.error = e.what();
      if (out.transport == Transport::TlsError) {
        // cpprestsdk only says "Error in SSL handshake"; name the usual causes.
        out.error +=
            " (check that the server's certificate is valid for this host and signed by "
            "a trusted CA, e.g. the one given with --prometheus-ca-file)";
      }
    } catch (const pplx::task_canceled&) {
      out.transport = Transport::Cancelled;
      out.error = "cancelled";
    } catch (const std::exception& e) {
      out.transport = classify({}, e.what());
      out.error = e.what();
    }
    return out;
  }

  ClientOptions options_;
  web::uri uri_;
  web::uri proxy_;  // empty: direct connections
  std::string caPem_, certPem_, keyPem_;
  std::unique_ptr<cpr::http_client> requestClient_;
  std::mutex mutex_;
  pplx::cancellation_token_source cancel_;
};

Client::Client(ClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>(options_)) {}

Client::~Client() = default;

void Client::cancelAll() {
  impl_->cancelAll();
}

Response Client::send(const Request& request) {
  return impl_->run(*impl_->requestClient_, request,
                    [](web::http::http_response& response, Response& out) {
                      out.body = response.extract_utf8string(true).get();
                    });
}

Response Client::stream(const Request& request, std::chrono::milliseconds idleTimeout,
                        const ChunkHandler& onChunk) {
  // A client of its own: its timeout is the idle timeout, and its connection is not shared
  // with short requests.
  auto client = impl_->makeClient(idleTimeout);
  return impl_->run(*client, request, [&](web::http::http_response& response, Response& out) {
    if (response.status_code() < 200 || response.status_code() >= 300) {
      out.body = response.extract_utf8string(true).get();
      return;
    }
    auto body = response.body();
    auto source = body.streambuf();
    concurrency::streams::container_buffer<std::string> chunk;
    for (;;) {
      chunk.collection().clear();
      chunk.seekpos(0, std::ios_base::out);
      // read(n) waits until n bytes are there, which on a quiet watch can be never: take
      // what has arrived, or wait for a single byte when nothing has.
      const auto available =
          static_cast<std::size_t>(std::max<std::streamsize>(0, source.in_avail()));
      const std::size_t want = available > 0 ? std::min<std::size_t>(available, 64 * 1024) : 1;
      const std::size_t n = body.read(chunk, want).get();
      if (n == 0) break;  // end of stream
      if (!onChunk(std::string_view(chunk.collection().data(), n))) break;
    }
  });
}

std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3);
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace budgetgate::http
