#pragma once
// The byte streams the HTTP server speaks over: plain TCP and TLS (OpenSSL directly on the
// socket). Both do non-blocking I/O straight away and wait for the socket only when the kernel
// has nothing to give or take.
//
// Why not asio::ssl::stream and Asio's async reads: every Asio operation that completes at once
// is still posted back through the io_context, which polls epoll again before running it
// (measured: 3.3 epoll_wait calls per request under load), and asio::ssl::stream copies every
// byte through a memory BIO pair and clears OpenSSL's error queue on each engine step. Here a
// request costs one read, one write and one epoll_wait when the socket has to be waited for.

// clang-format off
#include <utility>  // first: boost 1.74 awaitable.hpp uses std::exchange without including it
// clang-format on

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <climits>
#include <memory>
#include <string_view>

namespace budgetgate::server::io {

namespace asio = boost::asio;
using ErrorCode = boost::system::error_code;
// Every I/O object and coroutine names the concrete executor of its io_context: the default,
// type-erased any_io_executor cost ~8 % of the server's CPU in copies and dispatch (perf).
using Executor = asio::io_context::executor_type;
template <typename T = void>
using Task = asio::awaitable<T, Executor>;
inline constexpr asio::use_awaitable_t<Executor> use_awaitable{};
using Socket = asio::basic_stream_socket<asio::ip::tcp, Executor>;

// Suspends until the socket is readable or writable. Closing the socket (the connection's
// deadline) fails the wait with operation_aborted.
inline Task<> waitFor(Socket& socket, asio::socket_base::wait_type type, ErrorCode& ec) {
  co_await socket.async_wait(type, asio::redirect_error(use_awaitable, ec));
}

// Suspends until bytes, or the peer's close, are waiting on the socket. A readiness event
// alone proves nothing: epoll is edge-triggered, and an event may announce bytes that have been
// read since.
inline Task<> waitForBytes(Socket& socket, ErrorCode& ec) {
  for (;;) {
    char byte = 0;
    const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n >= 0) co_return;  // a byte, or 0: the peer closed
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      ec = ErrorCode(errno, boost::system::system_category());
      co_return;
    }
    co_await waitFor(socket, asio::socket_base::wait_read, ec);
    if (ec) co_return;
  }
}

class PlainStream {
 public:
  explicit PlainStream(Socket socket) : socket_(std::move(socket)) {
    ErrorCode ignored;
    socket_.non_blocking(true, ignored);
  }
  Socket& socket() { return socket_; }

  // One read that never waits: asio::error::would_block when nothing has arrived. Then
  // waitForInput() waits until the socket is (or may be) readable.
  std::size_t readAvailable(char* data, std::size_t size, ErrorCode& ec) {
    return socket_.read_some(asio::buffer(data, size), ec);
  }
  Task<> waitForInput(ErrorCode& ec) {
    co_await waitFor(socket_, asio::socket_base::wait_read, ec);
  }
  // Whether bytes were taken off the socket that readAvailable() could not return yet.
  bool hasPartialInput() const { return false; }

  // Up to `size` bytes; asio::error::eof when the peer has closed.
  Task<std::size_t> readSome(char* data, std::size_t size, ErrorCode& ec) {
    for (;;) {
      const std::size_t n = socket_.read_some(asio::buffer(data, size), ec);
      if (ec != asio::error::would_block) co_return n;
      co_await waitFor(socket_, asio::socket_base::wait_read, ec);
      if (ec) co_return 0;
    }
  }

  Task<> writeAll(std::string_view data, ErrorCode& ec) {
    while (!data.empty()) {
      const std::size_t n = socket_.write_some(asio::buffer(data.data(), data.size()), ec);
      if (ec == asio::error::would_block) {
        co_await waitFor(socket_, asio::socket_base::wait_write, ec);
      }
      if (ec) co_return;
      data.remove_prefix(n);
    }
  }

  Task<> shutdown(ErrorCode& ec) {
    socket_.shutdown(asio::socket_base::shutdown_send, ec);
    co_return;
  }

 private:
  Socket socket_;
};

class TlsStream {
 public:
  // The context is kept for the connection's lifetime: a certificate reload does not affect
  // connections already established.
  TlsStream(Socket socket, std::shared_ptr<asio::ssl::context> context)
      : socket_(std::move(socket)),
        context_(std::move(context)),
        ssl_(SSL_new(context_->native_handle())) {
    ErrorCode ignored;
    socket_.non_blocking(true, ignored);
    if (ssl_) {
      SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle()));  // does not own the fd
      SSL_set_accept_state(ssl_.get());
      // Read whole records (and whatever else has arrived) in one read(), not a 5-byte header
      // and then the rest.
      SSL_set_read_ahead(ssl_.get(), 1);
    }
  }
  Socket& socket() { return socket_; }

  Task<> handshake(ErrorCode& ec) {
    co_await drive([this] { return SSL_do_handshake(ssl_.get()); }, ec);
  }

  // One SSL_read that never waits: asio::error::would_block when OpenSSL needs the socket.
  // Then waitForInput() waits until the socket is (or may be) ready for what it needs.
  std::size_t readAvailable(char* data, std::size_t size, ErrorCode& ec) {
    const int want = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
    const int n = attempt([&] { return SSL_read(ssl_.get(), data, want); }, ec);
    return ec ? 0 : static_cast<std::size_t>(n);
  }
  Task<> waitForInput(ErrorCode& ec) { co_await waitFor(socket_, wait_, ec); }
  // Whether OpenSSL holds bytes it could not return yet (part of a record).
  bool hasPartialInput() const {
    return ssl_ && socket_.is_open() && SSL_has_pending(ssl_.get()) == 1;
  }

  // Up to `size` bytes; asio::error::eof after the peer's close_notify, ssl stream_truncated
  // when it closed the connection without one.
  Task<std::size_t> readSome(char* data, std::size_t size, ErrorCode& ec) {
    int n = 0;
    const int want = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
    co_await drive([&] { return n = SSL_read(ssl_.get(), data, want); }, ec);
    co_return ec ? 0 : static_cast<std::size_t>(n);
  }

  Task<> writeAll(std::string_view data, ErrorCode& ec) {
    while (!data.empty() && !ec) {
      int n = 0;
      const int chunk = static_cast<int>(std::min<std::size_t>(data.size(), INT_MAX));
      // Without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write is retried with the same arguments
      // until it has written all of `chunk`.
      co_await drive([&] { return n = SSL_write(ssl_.get(), data.data(), chunk); }, ec);
      if (!ec) data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Sends close_notify; does not wait for the peer's. Skipped after a fatal TLS or socket
  // error, when OpenSSL must not be called again on the connection.
  Task<> shutdown(ErrorCode& ec) {
    if (failed_) co_return;
    co_await drive([this] { return SSL_shutdown(ssl_.get()) >= 0 ? 1 : -1; }, ec);
  }

 private:
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };

  // Makes an OpenSSL call once: its result when positive; else `ec`, which is would_block
  // (with what to wait for in wait_) when OpenSSL wants to read or write the socket.
  template <typename Call>
  int attempt(Call call, ErrorCode& ec) {
    // The deadline closes the socket; its descriptor may be reused by the next connection at
    // once, so OpenSSL must never touch it again.
    if (!ssl_ || !socket_.is_open()) {
      ec = asio::error::operation_aborted;
      return -1;
    }
    ERR_clear_error();
    errno = 0;
    const int result = call();
    if (result > 0) {
      ec = {};
      return result;
    }
    const int error = SSL_get_error(ssl_.get(), result);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      wait_ = error == SSL_ERROR_WANT_READ ? asio::socket_base::wait_read
                                           : asio::socket_base::wait_write;
      ec = asio::error::would_block;
      return -1;
    }
    failed_ = error == SSL_ERROR_SSL || error == SSL_ERROR_SYSCALL;
    ec = errorFor(error);
    return -1;
  }

  // Runs an OpenSSL call until it succeeds, waiting for the socket whenever it wants to read
  // or write; anything else ends in `ec`.
  template <typename Call>
  Task<> drive(Call call, ErrorCode& ec) {
    for (;;) {
      attempt(call, ec);
      if (ec != asio::error::would_block) co_return;
      co_await waitFor(socket_, wait_, ec);
      if (ec) co_return;
    }
  }

  static ErrorCode errorFor(int sslError) {
    if (sslError == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
    const unsigned long queued = ERR_peek_error();
    if (sslError == SSL_ERROR_SYSCALL && queued == 0) {
      if (errno != 0) return ErrorCode(errno, boost::system::system_category());
      return asio::ssl::error::stream_truncated;
    }
#ifdef SSL_R_UNEXPECTED_EOF_WHILE_READING
    if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      return asio::ssl::error::stream_truncated;
    }
#endif
    if (queued != 0) {
      return ErrorCode(static_cast<int>(queued), asio::error::get_ssl_category());
    }
    return ErrorCode(EPROTO, boost::system::system_category());
  }

  Socket socket_;
  std::shared_ptr<asio::ssl::context> context_;
  std::unique_ptr<SSL, SslFree> ssl_;
  asio::socket_base::wait_type wait_ = asio::socket_base::wait_read;
  bool failed_ = false;
};

}  // namespace budgetgate::server::io
