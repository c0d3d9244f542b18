// An eventfd that one thread polls (with poll() or zmq::poll()) and any
// other thread signals, without a lock: how a thread blocked on a socket is
// told to stop, or that work for it is ready.
#pragma once

#include <cstdint>
#include <sys/eventfd.h>
#include <unistd.h>

namespace berth {

class Wakeup {
 public:
  Wakeup() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Wakeup() {
    if (fd_ >= 0) close(fd_);
  }
  Wakeup(const Wakeup&) = delete;
  Wakeup& operator=(const Wakeup&) = delete;

  bool ok() const { return fd_ >= 0; }  // false: eventfd failed (no descriptors left)
  int fd() const { return fd_; }        // readable once signalled, until cleared
  void signal() {
    const uint64_t one = 1;
    (void)!write(fd_, &one, sizeof one);
  }
  void clear() {
    uint64_t n;
    (void)!read(fd_, &n, sizeof n);
  }

 private:
  int fd_;
};

}  // namespace berth
