// A value or the reason it was refused, for the policy's own validators. The policy library
// depends on no other project target (style.md §1), so it does not use common/Result.
#pragma once

#include <boost/system/result.hpp>

#include <string>

namespace dockerbox::policy {

/// Why a policy value (a size, a pattern, a user spelling) was refused; safe to show.
struct Invalid {
  std::string message;
};

[[noreturn]] void throw_exception_from_error(const Invalid& e, const boost::source_location& loc);

template <class T>
using Checked = boost::system::result<T, Invalid>;

}  // namespace dockerbox::policy
