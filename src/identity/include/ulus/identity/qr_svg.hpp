#pragma once

#include <string>
#include <string_view>

#include "ulus/core/result.hpp"

namespace ulus::identity {

// `text` as a QR code (error correction M) in an inline <svg> element, one path of dark modules
// with the standard four-module quiet zone, so a page can show it without script or image
// requests. `label` becomes the accessible name. Thread-safe.
Result<std::string> QrSvg(std::string_view text, std::string_view label);

}  // namespace ulus::identity
