// Structured log lines on stderr: one line per event, `key=value` pairs (values
// quoted when they hold spaces, quotes or '='). Thread-safe; a line is never torn.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace evidence::ingest {

using LogField = std::pair<std::string_view, std::string>;

// level: "info", "warn", "error"; msg: a short fixed event name ("listening",
// "request", "upload_committed", ...).
void log_line(std::string_view level, std::string_view msg, std::initializer_list<LogField> fields = {});

}  // namespace evidence::ingest
