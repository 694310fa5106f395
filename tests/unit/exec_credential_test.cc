// kubeconfig exec credential plugins: the ExecCredential parser, and a real plugin (a shell
// script) run through loadKubeconfig, its token cached across requests.

#include "operator/kube/exec_credential.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "operator/kube/kube_config.h"

namespace budgetgate::kube {
namespace {

namespace fs = std::filesystem;

TEST(ExecCredential, ParsesATokenAndItsExpiry) {
  std::string error;
  const auto c = parseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
          "status":{"token":"abc","expirationTimestamp":"2026-12-02T10:00:00Z"}})",
      "client.authentication.k8s.io/v1", &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->token, "abc");
  ASSERT_TRUE(c->expires);
  EXPECT_EQ(formatTime(*c->expires), "2026-12-02T10:00:00Z");
}

TEST(ExecCredential, RefusesWhatIsNotATokenCredential) {
  std::string error;
  EXPECT_FALSE(parseExecCredential("not json", "client.authentication.k8s.io/v1", &error));
  EXPECT_NE(error.find("not JSON"), std::string::npos);
  EXPECT_FALSE(parseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"a"}})",
      "client.authentication.k8s.io/v1", &error));
  EXPECT_NE(error.find("v1beta1"), std::string::npos);
  EXPECT_FALSE(parseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
          "status":{"clientCertificateData":"x","clientKeyData":"y"}})",
      "client.authentication.k8s.io/v1", &error));
  EXPECT_NE(error.find("client certificate"), std::string::npos);
  EXPECT_FALSE(parseExecCredential(
      R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
          "status":{"token":"a","expirationTimestamp":"tomorrow"}})",
      "client.authentication.k8s.io/v1", &error));
  EXPECT_NE(error.find("RFC 3339"), std::string::npos);
}

class ExecPluginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("budgetgate-exec-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string kubeconfig(const std::string& script) {
    const auto plugin = dir_ / "plugin.sh";
    std::ofstream(plugin) << "#!/bin/sh\n" << script;
    fs::permissions(plugin, fs::perms::owner_all);
    const auto path = dir_ / "kubeconfig";
    std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                           "clusters: [{name: k, cluster: {server: https://127.0.0.1:6443}}]\n"
                           "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                           "users:\n- name: u\n  user:\n    exec:\n"
                           "      apiVersion: client.authentication.k8s.io/v1\n"
                           "      command: ./plugin.sh\n"
                           "      args: [first]\n"
                           "      env: [{name: GREETING, value: hello}]\n";
    return path.string();
  }
  fs::path dir_;
};

TEST_F(ExecPluginTest, RunsThePluginOnceAndPassesArgsEnvAndExecInfo) {
  // The token proves what the plugin saw: its first argument, the env from the kubeconfig and
  // KUBERNETES_EXEC_INFO's apiVersion. Each run appends a line to runs.txt.
  const auto path = kubeconfig(
      "echo run >> \"$(dirname \"$0\")/runs.txt\"\n"
      "info=$(echo \"$KUBERNETES_EXEC_INFO\" | sed 's/.*apiVersion\":\"\\([^\"]*\\)\".*/\\1/')\n"
      "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
      "\"status\":{\"token\":\"%s-%s-%s\",\"expirationTimestamp\":\"2999-01-01T00:00:00Z\"}}' "
      "\"$1\" \"$GREETING\" \"$info\"\n");
  std::string error;
  const auto config = loadKubeconfig(path, "", &error);
  ASSERT_TRUE(config) << error;
  ASSERT_TRUE(config->http.bearerTokenSource);
  EXPECT_EQ(config->http.bearerTokenSource(), "first-hello-client.authentication.k8s.io/v1");
  // A copy of the configuration (every client has one) shares the cached token.
  const auto copy = *config;
  EXPECT_EQ(copy.http.bearerTokenSource(), "first-hello-client.authentication.k8s.io/v1");
  std::ifstream runs(dir_ / "runs.txt");
  int lines = 0;
  for (std::string l; std::getline(runs, l);) ++lines;
  EXPECT_EQ(lines, 1);
}

TEST_F(ExecPluginTest, AFailingPluginGivesNoTokenAndABadOneAClearConfigError) {
  std::string error;
  const auto config = loadKubeconfig(kubeconfig("exit 3\n"), "", &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->http.bearerTokenSource(), "");  // the request goes without: a 401 follows
  const auto bad = dir_ / "bad";
  std::ofstream(bad)
      << "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
         "clusters: [{name: k, cluster: {server: https://127.0.0.1:6443}}]\n"
         "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
         "users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v9, "
         "command: x}}}]\n";
  EXPECT_FALSE(loadKubeconfig(bad.string(), "", &error));
  EXPECT_NE(error.find("client.authentication.k8s.io/v9"), std::string::npos) << error;
}

TEST_F(ExecPluginTest, ProxyUrlIsAnHttpProxyOrAClearError) {
  const auto write = [&](const std::string& proxy) {
    const auto path = dir_ / "proxied";
    std::ofstream(path) << "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
                           "clusters: [{name: k, cluster: {server: https://127.0.0.1:6443, "
                           "proxy-url: \""
                        << proxy
                        << "\"}}]\n"
                           "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
                           "users: [{name: u, user: {token: t}}]\n";
    return path.string();
  };
  std::string error;
  const auto config = loadKubeconfig(write("http://proxy.example:3128"), "", &error);
  ASSERT_TRUE(config) << error;
  EXPECT_EQ(config->http.proxyUrl, "http://proxy.example:3128");
  EXPECT_FALSE(loadKubeconfig(write("socks5://127.0.0.1:1080"), "", &error));
  EXPECT_NE(error.find("supports http:// proxies (CONNECT), not socks5"), std::string::npos)
      << error;
  // A proxy URL the client cannot use is a configuration error at start, not at first use.
  http::ClientOptions options = config->http;
  options.proxyUrl = "http://";
  EXPECT_THROW(http::Client client(options), std::invalid_argument);
}

}  // namespace
}  // namespace budgetgate::kube
