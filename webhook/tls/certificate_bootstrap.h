#pragma once
// Self-managed webhook TLS: keeps a CA and a serving certificate in a Secret (created on first
// start, the serving certificate renewed well before it expires), writes the pair to the files
// the HTTPS server reloads, and keeps the ValidatingWebhookConfiguration's caBundle equal to
// the CA. Several replicas can run it at once: the Secret's resourceVersion arbitrates.

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "operator/common/time.h"
#include "operator/kube/kube_client.h"

namespace budgetgate::tls {

struct BootstrapOptions {
  std::string ns;  // Secret namespace (budgetgate's)
  std::string secretName;
  std::string webhookName;  // ValidatingWebhookConfiguration to patch
  std::string serviceName;  // for the certificate's DNS names
  std::string certFile;     // where the HTTPS server reads its pair
  std::string keyFile;
  Seconds caValidity{10LL * 365 * 86400};
  Seconds servingValidity{365LL * 86400};
  double renewFraction = 1.0 / 3;  // renew when less than this share of validity remains
  // Cheap (two GETs): often enough that a webhook configuration restored after a break-glass
  // deletion gets its caBundle back within half a minute.
  std::chrono::seconds checkEvery{30};
};

class CertificateBootstrap {
 public:
  CertificateBootstrap(const kube::KubeConfig& config, BootstrapOptions options);
  ~CertificateBootstrap();

  // One pass: ensure the Secret, the files and the caBundle. Returns an empty string on
  // success, else what failed (the caller retries).
  std::string ensure();
  // Keeps calling ensure(): every checkEvery, or every 10 s while something is failing.
  void startBackground();
  void stop();

 private:
  std::string ensureSecret(std::string& caPem, std::string& certPem, std::string& keyPem);
  std::string ensureFiles(const std::string& certPem, const std::string& keyPem);
  std::string ensureCaBundle(const std::string& caPem);
  std::vector<std::string> dnsNames() const;

  kube::KubeClient client_;
  BootstrapOptions options_;
  std::jthread thread_;
};

}  // namespace budgetgate::tls
