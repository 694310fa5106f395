#pragma once
// The webhook's serving certificate: loaded from PEM files, re-read when they change (Secret
// volume updates, cert-manager renewals) without dropping connections or restarting.

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace budgetgate::server {

class CertificateStore {
 public:
  // Throws std::runtime_error when the initial files cannot be loaded.
  CertificateStore(std::string certFile, std::string keyFile);

  // The context for new connections; existing connections keep the one they started with.
  std::shared_ptr<boost::asio::ssl::context> current() const;

  // Reloads when either file changed since the last load. Returns true when a new certificate
  // is in use; a broken new pair is logged and the previous certificate stays.
  bool reloadIfChanged();

  // notAfter of the certificate in use (seconds since the epoch), for /metrics.
  std::optional<long long> notAfter() const;
  long long reloads() const;

 private:
  struct Stamp {
    std::filesystem::file_time_type certTime, keyTime;
    std::uintmax_t certSize = 0, keySize = 0;
    bool operator==(const Stamp&) const = default;
  };
  std::optional<Stamp> stamp() const;
  std::shared_ptr<boost::asio::ssl::context> build(std::optional<long long>* notAfter) const;

  std::string certFile_;
  std::string keyFile_;
  mutable std::mutex mutex_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::optional<Stamp> loaded_;
  std::optional<long long> notAfter_;
  long long reloads_ = 0;
};

}  // namespace budgetgate::server
