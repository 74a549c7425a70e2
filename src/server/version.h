// Build identity reported by `xscaler --version` and /api/v1/status/buildinfo.
#pragma once

namespace xscaler::server {
inline constexpr const char* kVersion = "0.1.0";
// Set by CMake from `git rev-parse --short HEAD` when available.
#ifdef XSCALER_REVISION
inline constexpr const char* kRevision = XSCALER_REVISION;
#else
inline constexpr const char* kRevision = "unknown";
#endif
}  // namespace xscaler::server
