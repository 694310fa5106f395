// The controller's shards: FNV-1a of the namespace, modulo the shard count.

#include "operator/controller/shard.h"

#include <gtest/gtest.h>

#include <string>

namespace budgetgate::controller {
namespace {

TEST(ShardAssignment, HashIsFnv1a64) {
  // The published FNV-1a 64-bit test vectors: users can compute a namespace's shard elsewhere.
  EXPECT_EQ(ShardAssignment::namespaceHash(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(ShardAssignment::namespaceHash("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(ShardAssignment::namespaceHash("foobar"), 0x85944171f73967e8ULL);
}

TEST(ShardAssignment, EveryNamespaceHasExactlyOneShardAndTheSplitIsEven) {
  const ShardAssignment a{0, 2}, b{1, 2};
  int first = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto ns = "team-" + std::to_string(i);
    ASSERT_NE(a.owns(ns), b.owns(ns)) << ns;
    first += a.owns(ns) ? 1 : 0;
    EXPECT_TRUE(ShardAssignment{}.owns(ns));  // unsharded: all
  }
  EXPECT_GT(first, 430);
  EXPECT_LT(first, 570);
}

TEST(ShardAssignment, ParsesKOverN) {
  std::string error;
  const auto s = ShardAssignment::parse("1/3", &error);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->index, 1);
  EXPECT_EQ(s->count, 3);
  EXPECT_EQ(s->describe(), "1/3");
  for (const char* bad : {"3/3", "1", "/2", "1/0", "-1/2", "a/b", "1/2/3", "0/99999", ""}) {
    EXPECT_FALSE(ShardAssignment::parse(bad, &error)) << bad;
    EXPECT_NE(error.find("K/N"), std::string::npos);
  }
}

}  // namespace
}  // namespace budgetgate::controller
