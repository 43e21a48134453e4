#pragma once
/// What the kernel says about a running process's resources, for tests that bound them.
///
/// Contract: both read /proc/PID of a live process; they return -1 when the process is gone (or /proc does
/// not say), never throw.
#include <sys/types.h>

#include <cstdint>

namespace projectord::testing {

/// The most resident memory the process has held (VmHWM), in KiB.
std::int64_t peak_rss_kib(pid_t pid);

/// The resident memory the process holds now (VmRSS), in KiB.
std::int64_t rss_kib(pid_t pid);

/// Descriptors the process has open.
std::int64_t open_fds(pid_t pid);

}  // namespace projectord::testing
