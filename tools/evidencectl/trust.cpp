#include "tools/evidencectl/trust.h"

#include <boost/json.hpp>
#include <mutex>

#include "base/timefmt.h"
#include "tools/evidencectl/cli.h"
#include "tools/evidencectl/http.h"
#include "tools/evidencectl/local_files.h"

namespace evidencectl {
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

std::mutex& pins_mutex() {
  static std::mutex m;
  return m;
}

std::optional<std::string> str(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

struct Pin {
  std::optional<std::string> log_key;
  std::optional<std::string> tsa_ca_pem;
};

Pin load_pin(const fs::path& file, const std::string& origin) {
  const auto all = read_json_object(file);
  if (!all) return {};
  const auto* logs = all->if_contains("logs");
  if (!logs || !logs->is_object()) return {};
  const auto* entry = logs->as_object().if_contains(origin);
  if (!entry || !entry->is_object()) return {};
  return Pin{str(entry->as_object(), "log_key"), str(entry->as_object(), "tsa_ca_pem")};
}

void save_pin(const fs::path& file, const std::string& origin, const Pin& pin) {
  auto all = read_json_object(file).value_or(json::object{});
  auto& logs = all["logs"];
  if (!logs.is_object()) logs = json::object{};
  auto& entry = logs.as_object()[origin];
  if (!entry.is_object()) entry = json::object{};
  auto& e = entry.as_object();
  bool changed = false;
  if (pin.log_key && !e.contains("log_key")) {
    e["log_key"] = *pin.log_key;
    changed = true;
  }
  if (pin.tsa_ca_pem && !e.contains("tsa_ca_pem")) {
    e["tsa_ca_pem"] = *pin.tsa_ca_pem;
    changed = true;
  }
  if (!changed) return;
  e["pinned_at"] = evidence::format_rfc3339(evidence::now_us());
  write_file_durably(file, json::serialize(all) + "\n");
}

}  // namespace

std::string read_pem_file(const fs::path& file) {
  const auto text = read_small_file(file);
  if (text.find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    cannot_run(file.string() + " is not a PEM certificate");
  return text;
}

evidence::ReceiptCheck check_receipt(const json::object& receipt, const fs::path& file,
                                     const TrustOptions& trust, Http* online) {
  const fs::path pins_file = trust.known_logs.empty() ? config_dir() / "known_logs.json" : trust.known_logs;
  const std::string origin = evidence::receipt_log_origin(receipt);
  // The pins file is shared by parallel uploads: read and write it under the lock,
  // but hash and verify outside it.
  Pin pinned;
  if (!origin.empty()) {
    std::lock_guard lock(pins_mutex());
    pinned = load_pin(pins_file, origin);
  }

  // Offered keys: the receipt's own, else the server's (when we may ask it).
  Pin offered{str(receipt, "log_key"), str(receipt, "tsa_ca_pem")};
  if (online && ((!trust.log_key && !pinned.log_key && !offered.log_key) ||
                 (!trust.tsa_ca_pem && !pinned.tsa_ca_pem && !offered.tsa_ca_pem))) {
    try {
      const auto keys = online->get_json("/api/v1/keys");
      if (keys.is_object()) {
        if (!offered.log_key) offered.log_key = str(keys.as_object(), "log_key");
        if (!offered.tsa_ca_pem) offered.tsa_ca_pem = str(keys.as_object(), "tsa_ca_pem");
      }
    } catch (const Failure& e) {
      warn(std::string("note: could not fetch the server's keys: ") + e.what());
    }
  }

  const auto log_key = trust.log_key ? trust.log_key : pinned.log_key ? pinned.log_key : offered.log_key;
  const auto tsa_ca = trust.tsa_ca_pem ? trust.tsa_ca_pem : pinned.tsa_ca_pem ? pinned.tsa_ca_pem : offered.tsa_ca_pem;
  auto check = evidence::verify_receipt(receipt, file, tsa_ca, log_key);

  if (!trust.log_key && pinned.log_key && offered.log_key && *offered.log_key != *pinned.log_key) {
    // Explain a failure that comes from a server whose key changed since it was pinned.
    for (auto& i : check.items) {
      if (i.name != "checkpoint_signature" || i.ok) continue;
      i.detail += "; the receipt offers log key " + *offered.log_key + " but " + *pinned.log_key +
                  " was pinned for " + origin + " at first use";
    }
  }
  // Trust on first use: pin what just verified, so later receipts must match it.
  if (check.ok() && !origin.empty()) {
    Pin to_pin;
    if (!pinned.log_key && !trust.log_key) to_pin.log_key = log_key;
    if (!pinned.tsa_ca_pem && !trust.tsa_ca_pem) to_pin.tsa_ca_pem = tsa_ca;
    if (to_pin.log_key || to_pin.tsa_ca_pem) {
      try {
        std::lock_guard lock(pins_mutex());
        save_pin(pins_file, origin, to_pin);  // keeps a pin another thread set meanwhile
      } catch (const Failure& e) {
        warn(std::string("note: could not pin the log's keys: ") + e.what());
      }
    }
  }
  return check;
}

void print_receipt_check(const evidence::ReceiptCheck& check, bool to_stderr) {
  for (const auto& i : check.items) {
    const std::string line = std::string(i.ok ? "  ok    " : "  FAIL  ") + i.name + ": " + i.detail;
    if (to_stderr)
      warn(line);
    else
      say(line);
  }
}

}  // namespace evidencectl
