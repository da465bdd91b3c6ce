#include "store/retention.h"

#include <boost/json.hpp>
#include <chrono>

#include "base/error.h"
#include "base/timefmt.h"
#include "store/format.h"

namespace evidence {

namespace json = boost::json;

Bytes RetentionCategory::encode() const {
  json::object o;
  o["name"] = name;
  if (days) {
    o["days"] = *days;
  } else {
    o["permanent"] = true;
  }
  std::string text = json::serialize(o);
  Bytes out;
  out.reserve(text.size() + 1);
  out.push_back(format::kRetentionV1);
  out.insert(out.end(), text.begin(), text.end());
  return out;
}

RetentionCategory RetentionCategory::decode(std::span<const std::uint8_t> bytes) {
  if (bytes.empty() || bytes[0] != format::kRetentionV1)
    throw Error(Errc::corrupt, "retention category: unknown encoding version");
  boost::system::error_code ec;
  auto v = json::parse(as_chars(bytes.subspan(1)), ec);
  if (ec || !v.is_object()) throw Error(Errc::corrupt, "retention category: not a JSON object");
  const auto& o = v.as_object();
  RetentionCategory c;
  const auto* n = o.if_contains("name");
  if (!n || !n->is_string()) throw Error(Errc::corrupt, "retention category: missing name");
  c.name = std::string(n->as_string());
  if (const auto* d = o.if_contains("days")) {
    if (!d->is_uint64() && !(d->is_int64() && d->as_int64() >= 0))
      throw Error(Errc::corrupt, "retention category " + c.name + ": days is not a count");
    const auto days = d->to_number<std::uint64_t>();
    if (days > 0xffffffffu) throw Error(Errc::corrupt, "retention category " + c.name + ": days out of range");
    c.days = static_cast<std::uint32_t>(days);
  } else if (const auto* p = o.if_contains("permanent"); !p || !p->is_bool() || !p->as_bool()) {
    throw Error(Errc::corrupt, "retention category " + c.name + ": neither days nor permanent");
  }
  return c;
}

std::vector<RetentionCategory> default_retention_categories() {
  return {{"routine", 180},
          {"evidence", std::nullopt},
          {"obstruction", std::nullopt},
          {"major_incident", std::nullopt},
          {"complex_case", std::nullopt}};
}

std::string retention_name_problem(std::string_view name) {
  if (name.empty() || name.size() > 64) return "a retention category name has 1 to 64 characters";
  if (name[0] < 'a' || name[0] > 'z') return "a retention category name starts with a lowercase letter";
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
    if (!ok) return "a retention category name holds only a-z, 0-9, '_' and '-'";
  }
  return {};
}

std::optional<std::string> retain_until(std::string_view received_at, const RetentionCategory& category) {
  auto at = parse_rfc3339(received_at);
  if (!at) throw Error(Errc::invalid_argument, "received_at is not an RFC 3339 time: " + std::string(received_at));
  if (category.permanent()) return std::nullopt;
  return format_rfc3339(*at + std::chrono::hours(24) * static_cast<std::int64_t>(*category.days));
}

}  // namespace evidence
