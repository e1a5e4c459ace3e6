// Runs blocking jobs (HTTP requests, file reads) one after the other on a thread of its own,
// each with the thread's own state (a client and its token). Results go back to the daemon's
// loop by whatever the job posts there.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

namespace pbxwall::daemon {

template <class State>
class JobThread {
 public:
  using Job = std::function<void(State&)>;

  // `make` builds the thread's state in place (it need not be movable). `interrupt` runs when
  // the thread is stopped, on the stopping thread: it ends a job under way early (a request
  // waiting for its timeout). The state stays the thread's own otherwise.
  template <class Make>
  explicit JobThread(Make make, std::function<void(State&)> interrupt = {})
      : state_(make()), interrupt_(std::move(interrupt)) {
    thread_ = std::thread([this] { run(); });
  }
  ~JobThread() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    if (interrupt_) interrupt_(state_);
    wake_.notify_all();
    thread_.join();
  }
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  void post(Job job) {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(std::move(job));
    }
    wake_.notify_all();
  }

 private:
  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job(state_);
    }
  }

  State state_;
  std::function<void(State&)> interrupt_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pbxwall::daemon
