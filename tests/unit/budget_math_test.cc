#include <gtest/gtest.h>

#include "operator/engine/budget_math.h"

TEST(Placeholder, Builds) { EXPECT_DOUBLE_EQ(budgetgate::engine::errorBudgetRatio(0.999), 0.001 + 0 * 1e-18); }
