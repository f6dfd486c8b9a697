#pragma once

#include <pthread.h>

#include <csignal>

namespace ulus::app {

// Blocks SIGINT and SIGTERM in every thread (threads inherit the mask) so that only a thread
// waiting with sigwait() receives them; then a signal means "drain and stop", not an abrupt exit.
// Call before starting any thread.
inline sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

}  // namespace ulus::app
