// The users who may act on evidence, as an interface. A user is found by the SHA-256
// of their bearer token (the token itself is never stored) or by name.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/content_id.h"
#include "store/records.h"

namespace evidence {

class UserDirectory {
 public:
  virtual ~UserDirectory() = default;

  // token_hash = SHA-256 of the bearer token. Error(already_exists) for a taken name,
  // Error(invalid_argument) for a name that is not allowed. With `event`, the custody
  // entry is appended in the same commit.
  virtual void put_user(const User& user, const ContentId& token_hash, const CustodyEvent* event = nullptr) = 0;
  virtual std::optional<User> user_by_token_hash(const ContentId& token_hash) const = 0;
  virtual std::optional<User> user_by_name(const std::string& name) const = 0;
  virtual std::vector<User> users() const = 0;  // in token-hash order
  // Applies `change` to the stored user and appends `event`, in one commit; returns
  // the entry index. A change never renames. Error(not_found) when there is no such
  // user. `change` may run more than once (an engine may retry the commit).
  virtual std::uint64_t update_user(const std::string& name, const std::function<void(User&)>& change,
                                    const CustodyEvent& event) = 0;
  // Replaces the user's token (the old one stops working with this commit) and
  // appends `event`. Error(not_found) when there is no such user.
  virtual std::uint64_t replace_user_token(const std::string& name, const ContentId& new_token_hash,
                                           const CustodyEvent& event) = 0;
  // Records last_seen times (name -> RFC 3339; only ever moved forward), without
  // custody entries: a sign of life, not an act on evidence. Unknown names are skipped.
  virtual void touch_users(const std::vector<std::pair<std::string, std::string>>& seen) = 0;
};

}  // namespace evidence
