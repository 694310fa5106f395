#include "webhook/server/http_server.h"

// clang-format off
#include <utility>  // first: boost 1.74 awaitable.hpp uses std::exchange without including it
// clang-format on

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <csignal>

#include "webhook/server/socket_streams.h"

namespace budgetgate::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using io::ErrorCode;
using io::Executor;
using io::Socket;
using io::Task;
using io::use_awaitable;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
using RequestParser = http::request_parser<http::string_body>;

HttpResponse plain(int status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body)};
}

// The whole response in one buffer: one TLS record and one write for the small answers a
// webhook gives.
std::string serialize(const HttpResponse& response, bool keepAlive) {
  const auto status = static_cast<http::status>(response.status);
  std::string out;
  out.reserve(160 + response.contentType.size() + response.body.size());
  out.append("HTTP/1.1 ").append(std::to_string(response.status)).append(" ");
  const auto reason = http::obsolete_reason(status);
  out.append(reason.data(), reason.size());
  out.append("\r\nServer: budgetgate\r\nContent-Type: ").append(response.contentType);
  out.append("\r\nContent-Length: ").append(std::to_string(response.body.size()));
  out.append(keepAlive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  out.append(response.body);
  return out;
}

// Reads one request into `parser`, keeping bytes that arrive beyond it (a pipelined next
// request) in `buffer`. end_of_stream when the peer closed before sending anything.
template <typename Stream>
Task<> readRequest(Stream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                   ErrorCode& ec) {
  constexpr std::size_t kReadSize = 16 * 1024;  // a TLS record
  for (;;) {
    if (buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
      } else if (ec || parser.is_done()) {
        co_return;
      } else if (used > 0 && buffer.size() > 0) {
        continue;
      }
    }
    auto space = buffer.prepare(kReadSize);
    const std::size_t n =
        co_await stream.readSome(static_cast<char*>(space.data()), space.size(), ec);
    if (ec == asio::error::eof) {
      ec = {};
      if (!parser.got_some()) {
        ec = http::error::end_of_stream;
      } else {
        parser.put_eof(ec);
      }
      co_return;
    }
    if (ec) co_return;
    buffer.commit(n);
  }
}

}  // namespace

class HttpServer::Impl {
 public:
  // One single-threaded io_context per I/O thread, each connection pinned to one of them:
  // no strands and no cross-thread hand-offs on the request path (measured: a shared
  // io_context with a strand per connection spent a fifth of its time in executor plumbing
  // and context switches).
  Impl(ServerOptions options, Handler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        contexts_(makeContexts(std::max<std::size_t>(1, options_.threads))),
        acceptor_(*contexts_.front()),
        certTimer_(*contexts_.front()) {}

  static std::vector<std::unique_ptr<asio::io_context>> makeContexts(std::size_t n) {
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }

  void start() {
    // OpenSSL writes to the socket with write(), which raises SIGPIPE when the client has gone;
    // its default action would end the process.
    std::signal(SIGPIPE, SIG_IGN);
    tcp::endpoint endpoint(asio::ip::make_address(options_.address), options_.port);
    ErrorCode ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("listening on " + options_.address + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    auto& first = *contexts_.front();
    asio::co_spawn(first, accept(), asio::detached);
    if (options_.certificates) asio::co_spawn(first, watchCertificates(), asio::detached);
    for (auto& io : contexts_) {
      workGuards_.push_back(asio::make_work_guard(*io));
      threads_.emplace_back([&io = *io] { io.run(); });
    }
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    asio::post(*contexts_.front(), [this] {
      ErrorCode ignored;
      acceptor_.close(ignored);
      certTimer_.cancel();
    });
    workGuards_.clear();
    for (auto& io : contexts_) io->stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

  Task<> accept() {
    for (std::size_t next = 0;; ++next) {
      ErrorCode ec;
      auto& io = *contexts_[next % contexts_.size()];  // round-robin over the I/O threads
      auto socket = co_await acceptor_.async_accept(io.get_executor(),
                                                    asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        continue;  // e.g. EMFILE: keep accepting
      }
      ++stats_.connections;
      socket.set_option(tcp::no_delay(true));
      if (options_.certificates) {
        auto ctx = options_.certificates->current();
        asio::co_spawn(socket.get_executor(), tlsSession(std::move(socket), std::move(ctx)),
                       asio::detached);
      } else {
        asio::co_spawn(socket.get_executor(), plainSession(std::move(socket)), asio::detached);
      }
    }
  }

  Task<> watchCertificates() {
    for (;;) {
      certTimer_.expires_after(options_.certificateCheckInterval);
      ErrorCode ec;
      co_await certTimer_.async_wait(asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      options_.certificates->reloadIfChanged();
    }
  }

  // A connection and its deadline. One timer per connection, re-armed only when it fires:
  // moving the deadline is a plain store. (Beast's per-operation timeouts re-arm a timer on
  // every read and write, which showed up as a timerfd update per request.) The session and
  // its watchdog run on the same single-threaded io_context, so no locking is needed.
  template <typename Stream>
  struct Connection {
    template <typename... Args>
    explicit Connection(Executor ex, Args&&... args)
        : stream(std::forward<Args>(args)...), timer(std::move(ex)) {}
    Stream stream;
    Timer timer;
    std::chrono::steady_clock::time_point deadline{};
    std::chrono::steady_clock::time_point armedFor = std::chrono::steady_clock::time_point::max();
    bool done = false;
    bool expired = false;

    void extend(std::chrono::steady_clock::duration d) {
      deadline = std::chrono::steady_clock::now() + d;
      // A later deadline waits for the timer to fire; an earlier one (the idle timeout after
      // the longer handshake allowance) wakes the watchdog to re-arm now.
      if (deadline < armedFor) timer.cancel();
    }
    void finish() {
      done = true;
      timer.cancel();
    }
  };

  template <typename Conn>
  static Task<> watchdog(std::shared_ptr<Conn> c) {
    while (!c->done) {
      c->armedFor = c->deadline;
      c->timer.expires_at(c->deadline);
      ErrorCode ec;
      co_await c->timer.async_wait(asio::redirect_error(use_awaitable, ec));
      if (c->done) co_return;
      if (std::chrono::steady_clock::now() >= c->deadline) {
        c->expired = true;
        ErrorCode ignored;
        c->stream.socket().close(ignored);  // fails the pending wait
        co_return;
      }
    }
  }

  Task<> tlsSession(Socket socket, std::shared_ptr<asio::ssl::context> ctx) {
    using Conn = Connection<io::TlsStream>;
    auto ex = socket.get_executor();
    auto c = std::make_shared<Conn>(ex, std::move(socket), std::move(ctx));
    c->extend(std::chrono::seconds(10));
    asio::co_spawn(ex, watchdog(c), asio::detached);
    ErrorCode ec;
    co_await c->stream.handshake(ec);
    if (ec) {
      ++stats_.tlsHandshakeFailures;
      c->finish();
      co_return;
    }
    co_await serve(*c);
    if (!c->expired) {
      c->extend(std::chrono::seconds(2));
      co_await c->stream.shutdown(ec);
    }
    c->finish();
  }

  Task<> plainSession(Socket socket) {
    using Conn = Connection<io::PlainStream>;
    auto ex = socket.get_executor();
    auto c = std::make_shared<Conn>(ex, std::move(socket));
    asio::co_spawn(ex, watchdog(c), asio::detached);
    co_await serve(*c);
    ErrorCode ignored;
    if (!c->expired) co_await c->stream.shutdown(ignored);
    c->finish();
  }

  template <typename Conn>
  Task<> serve(Conn& conn) {
    auto& stream = conn.stream;
    beast::flat_buffer buffer;
    for (;;) {
      RequestParser parser;
      parser.eager(true);
      parser.body_limit(options_.maxBodyBytes);
      parser.header_limit(16 * 1024);
      conn.extend(options_.idleTimeout);
      ErrorCode ec;
      co_await readRequest(stream, buffer, parser, ec);
      if (conn.expired || ec == http::error::end_of_stream ||
          ec == asio::ssl::error::stream_truncated) {
        co_return;
      }
      HttpResponse response;
      bool keepAlive = false;
      if (ec == http::error::body_limit) {
        ++stats_.rejectedTooLarge;
        response = plain(
            413, "request body larger than " + std::to_string(options_.maxBodyBytes) + " bytes\n");
      } else if (ec) {
        if (ec == asio::error::operation_aborted || ec == asio::error::connection_reset) co_return;
        ++stats_.malformed;
        response = plain(400, "malformed HTTP request: " + ec.message() + "\n");
      } else {
        ++stats_.requests;
        auto& msg = parser.get();
        keepAlive = msg.keep_alive();
        HttpRequest request;
        request.method = std::string(msg.method_string());
        request.target = std::string(msg.target());
        request.contentType = std::string(msg[http::field::content_type]);
        request.body = std::move(msg.body());
        try {
          response = handler_(request);
        } catch (const std::exception& e) {
          spdlog::error("handler failed for {} {}: {}", request.method, request.target, e.what());
          response = plain(500, "internal error\n");
        }
      }
      conn.extend(options_.idleTimeout);
      ErrorCode wec;
      co_await stream.writeAll(serialize(response, keepAlive), wec);
      if (wec || !keepAlive) co_return;
    }
  }

  ServerOptions options_;
  Handler handler_;
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> workGuards_;
  Acceptor acceptor_;
  Timer certTimer_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopped_{false};
  unsigned short port_ = 0;
  ServerStats stats_;
};

HttpServer::HttpServer(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  impl_->start();
}
void HttpServer::stop() {
  impl_->stop();
}
unsigned short HttpServer::port() const {
  return impl_->port_;
}
const ServerStats& HttpServer::stats() const {
  return impl_->stats_;
}

}  // namespace budgetgate::server
