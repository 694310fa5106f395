#pragma once
// Self-managed webhook TLS: keeps a CA and a serving certificate in a Secret (created on first
// start, the serving certificate renewed well before it expires), writes the pair to the files
// the HTTPS server reloads, and keeps the ValidatingWebhookConfiguration's caBundle equal to
// the CA. Several replicas can run it at once: the Secret's resourceVersion arbitrates.
//
// Until the caBundle has been seen equal to the CA (the webhook configuration may not exist yet
// when the Pod starts: Helm creates it alongside the Deployment), it retries every second (for
// two minutes, then every 10 s) and caBundleConfirmed() is false, so the replica stays unready
// until the API server can verify it, instead of being sent requests that the API server fails
// with `x509: certificate signed by unknown authority`.

#include <atomic>
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
  // Until the caBundle is confirmed (and after a failure before that), retry this often.
  std::chrono::milliseconds startupRetry{1000};
};

class CertificateBootstrap {
 public:
  CertificateBootstrap(const kube::KubeConfig& config, BootstrapOptions options);
  ~CertificateBootstrap();

  // One pass: ensure the Secret, the files and the caBundle. Returns an empty string on
  // success, else what failed (the caller retries).
  std::string ensure();
  // Keeps calling ensure(): every checkEvery, or every 10 s while something is failing; every
  // startupRetry until the caBundle is confirmed (for at most the first two minutes).
  void startBackground();
  void stop();
  // True once a pass has read the webhook configuration back with every entry's caBundle equal
  // to the CA that signed the served certificate (the write alone does not count: the next pass
  // confirms it). Always true without a webhook configuration to patch. Stays true afterwards:
  // the caBundle is restored by the periodic check, and readiness should not flap with it.
  bool caBundleConfirmed() const { return confirmed_.load(); }

 private:
  std::string ensureSecret(std::string& caPem, std::string& certPem, std::string& keyPem);
  std::string ensureFiles(const std::string& certPem, const std::string& keyPem);
  std::string ensureCaBundle(const std::string& caPem);
  std::vector<std::string> dnsNames() const;

  kube::KubeClient client_;
  BootstrapOptions options_;
  std::atomic<bool> confirmed_{false};
  std::jthread thread_;
};

}  // namespace budgetgate::tls
