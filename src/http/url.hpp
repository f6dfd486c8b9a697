#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ulus::http {

// Decodes %XX escapes (and '+' as a space when `plus_as_space`, as in query strings). nullopt
// when an escape is malformed or decodes to NUL, which no Ulus identifier may contain.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space);

// True when every escape in `path` is well formed and none is %00, and it has no control bytes.
bool IsAcceptablePath(std::string_view path);

// True when `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF). Decoded form and query values must be: what is stored or put into JSON must be text.
bool IsUtf8(std::string_view text);

// The path of a request target: origin-form "/a/b?q" gives "/a/b"; absolute-form
// "http://host/a?q" gives "/a" too.
std::string_view PathOfTarget(std::string_view target);

}  // namespace ulus::http
