#include "verify/keys.h"

#include <sys/stat.h>

#include <cerrno>

#include "store/blob_store.h"
#include "base/error.h"
#include "verify/openssl_util.h"
#include "verify/tsa.h"

namespace evidence {

namespace {

std::string first_line(std::string s) {
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  return s;
}

}  // namespace

void create_instance_keys(const Layout& layout, const std::string& log_name) {
  // The name is the checkpoint origin and the note signer: one line, no '+' or spaces.
  (void)note::Verifier::for_key(log_name, {});  // throws invalid_argument when unusable

  const std::filesystem::path files[] = {layout.log_private_key(), layout.log_public_key(),
                                         layout.log_name_file(),   layout.tsa_ca_key(),
                                         layout.tsa_ca_cert(),     layout.tsa_key(),
                                         layout.tsa_cert()};
  for (const auto& f : files) {
    std::error_code ec;
    if (std::filesystem::exists(f, ec))
      throw Error(Errc::already_exists, "refusing to replace existing key " + f.string());
  }

  const auto dir = layout.keys_dir();
  std::error_code ec;
  std::filesystem::create_directories(layout.root(), ec);
  if (ec) throw system_error(ec.value(), "create " + layout.root().string());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw system_error(errno, "mkdir " + dir.string());
  // mkdir's mode is filtered by the umask; the folder must be 0700 whatever it is.
  if (::chmod(dir.c_str(), 0700) != 0) throw system_error(errno, "chmod " + dir.string());
  fsync_path(layout.root());

  auto key = note::Ed25519Key::generate();
  key.save(layout.log_private_key());
  auto verifier = note::Verifier::for_key(log_name, key.public_key());
  std::string vkey = verifier.to_string() + "\n";
  write_file_durably(layout.log_public_key(), as_bytes(vkey), 0644, true);
  std::string name = log_name + "\n";
  write_file_durably(layout.log_name_file(), as_bytes(name), 0644, true);
  tsa::create_embedded_tsa(layout, log_name);
  fsync_path(dir);
}

note::Verifier LogSigner::verifier() const { return note::Verifier::for_key(name, key.public_key()); }

LogSigner load_log_signer(const Layout& layout) {
  std::string name = first_line(ossl::read_small_file(layout.log_name_file()));
  if (name.empty()) throw Error(Errc::corrupt, layout.log_name_file().string() + " is empty");
  return LogSigner{std::move(name), note::Ed25519Key::load(layout.log_private_key())};
}

note::Verifier load_log_verifier(const Layout& layout) {
  std::string text = first_line(ossl::read_small_file(layout.log_public_key()));
  auto v = note::Verifier::parse(text);
  if (!v) throw Error(Errc::corrupt, layout.log_public_key().string() + " is not a valid verifier key");
  std::error_code ec;
  if (std::filesystem::exists(layout.log_name_file(), ec)) {
    std::string name = first_line(ossl::read_small_file(layout.log_name_file()));
    if (name != v->name)
      throw Error(Errc::corrupt, "log name " + name + " does not match the verifier key's name " + v->name);
  }
  return *v;
}

}  // namespace evidence
