// Internal to verify/media/: what reading back probe.h's and segments.h's to_json
// shares. Failures are Error(corrupt) "malformed media JSON: ...".
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "base/error.h"

namespace evidence::media::detail {

[[noreturn]] inline void bad_json(const std::string& what) {
  throw Error(Errc::corrupt, "malformed media JSON: " + what);
}

inline std::optional<double> opt_number(const boost::json::value& v, const char* key) {
  if (v.is_null()) return std::nullopt;
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  bad_json(std::string(key) + " is not a number");
}

}  // namespace evidence::media::detail
