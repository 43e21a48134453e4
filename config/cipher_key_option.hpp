#pragma once
/// A source's cipher key, for the codecs that decrypt (eventsourcing_json_aes, eventsourcing_json_zlib_aes):
/// read from the environment variable `cipher_key_env` names (CIPHER_KEY unless set, as pyeventsourcing reads
/// it) or from the file `cipher_key_file` names, never from the config's own text, so the file can be shown
/// and versioned. A missing or malformed key is a load error naming the source and the option, never the key;
/// either option on a source whose codec does not decrypt is an error too.
#include "config/config.hpp"
#include "config/section.hpp"

namespace projectord::config {

/// The key of source section `s` for `codec` (empty when `codec` does not decrypt); problems are reported on `s`.
CipherKey load_cipher_key(Section& s, Codec codec);

}  // namespace projectord::config
