// Resumable (tus) upload sessions as an interface: the state of uploads not yet
// committed as evidence, kept so that an upload survives a restart.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/records.h"

namespace evidence {

class UploadSessions {
 public:
  virtual ~UploadSessions() = default;

  virtual void put_upload(const UploadSession& s) = 0;  // creates or replaces s.id
  virtual std::optional<UploadSession> get_upload(const std::string& id) const = 0;
  virtual void delete_upload(const std::string& id) = 0;  // absent is fine
  virtual std::vector<UploadSession> uploads() const = 0;  // in id order
};

}  // namespace evidence
