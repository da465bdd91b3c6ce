// Legal hold (api_hold.cpp): whether an item is held, for the record JSON.
#pragma once

#include <string>

#include "store/index.h"

namespace evidence::ingest {

bool has_legal_hold(const Index& index, const std::string& evidence_id);

}  // namespace evidence::ingest
