// Errors raised by the core. The adapter turns them into ereport(ERROR) after the C++ catch
// block has ended (see src/pg/common/guard.hpp); the core itself never sees Postgres.
#pragma once

#include <stdexcept>
#include <string>

namespace crm {

class Error : public std::runtime_error {
 public:
  // sqlstate: five characters, e.g. "22023" (invalid_parameter_value).
  Error(const char *sqlstate, std::string message, std::string detail = {}, std::string hint = {})
      : std::runtime_error(std::move(message)), detail_(std::move(detail)), hint_(std::move(hint)) {
    for (int i = 0; i < 5; ++i) sqlstate_[i] = sqlstate[i];
    sqlstate_[5] = '\0';
  }
  const char *sqlstate() const noexcept { return sqlstate_; }
  const std::string &detail() const noexcept { return detail_; }
  const std::string &hint() const noexcept { return hint_; }

 private:
  char sqlstate_[6];
  std::string detail_;
  std::string hint_;
};

// Thrown by long core loops when the adapter's cancel check reports a pending interrupt; the
// adapter then lets Postgres process the interrupt (statement_timeout, pg_cancel_backend).
class Canceled : public std::exception {
 public:
  const char *what() const noexcept override { return "canceled"; }
};

}  // namespace crm
