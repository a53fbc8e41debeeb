#pragma once

// Abseil 20220623 (Debian 12) ships no status macros; these two are ours.

#define DG_STATUS_CONCAT_INNER(a, b) a##b
#define DG_STATUS_CONCAT(a, b) DG_STATUS_CONCAT_INNER(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define DG_RETURN_IF_ERROR(expr)                  \
  do {                                            \
    ::absl::Status dg_status_ = (expr);           \
    if (!dg_status_.ok()) return dg_status_;      \
  } while (false)

// `lhs = value of expr` (an absl::StatusOr<T>), or returns its error.
#define DG_ASSIGN_OR_RETURN(lhs, expr) \
  DG_ASSIGN_OR_RETURN_IMPL(DG_STATUS_CONCAT(dg_statusor_, __LINE__), lhs, expr)
#define DG_ASSIGN_OR_RETURN_IMPL(var, lhs, expr) \
  auto var = (expr);                             \
  if (!var.ok()) return var.status();            \
  lhs = std::move(var).value()
