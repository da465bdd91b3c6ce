// Helpers shared by the route handlers (api_common.cpp): custody events, readable
// records and their JSON, small bodies, upload metadata. Each takes the narrow
// components it uses, never the daemon.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/http.h"
#include "ingest/ingest_pipeline.h"
#include "store/index.h"

namespace evidence::ingest {

CustodyEvent custody_event(const AuthUser& who, std::string action);
// 404 unless the record exists and the user may read it (officers: their own).
Task<EvidenceRecord> readable_record(Index& index, Workers& workers, const Request& req, const std::string& id);
// Record JSON as served: the stored record plus current cases and media info.
json::object record_json(Index& index, const EvidenceRecord& rec);
json::object entry_json(const LogEntry& e);
json::array hashes_json(const std::vector<merkle::Hash>& hashes);
// Reads a small JSON object body (400 when it is not one).
Task<json::object> read_json_object(Request& req);

// get(key) returns the raw value or nullopt. Throws HttpError 400 naming the field.
IngestMeta validate_meta(const std::function<std::optional<std::string>(std::string_view)>& get);
// 403 `officer_mismatch` when an officer names another officer: only a station (and
// an admin) uploads in someone else's name.
void check_uploader(const AuthUser& who, const IngestMeta& meta);
// 400 `invalid_case`, saying what is wrong, unless `case_number` is a valid case
// number (store/ids.h, case_number_problem): for route segments and body fields.
void check_case_number(std::string_view case_number);

}  // namespace evidence::ingest
