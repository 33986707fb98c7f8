// rcmgr::refusal_logger: a log of refusals an operator can act on, and that a flood cannot turn
// into a second attack. At most one line per (scope, resource) per interval: the first refusal
// in a window is written in full (which scope, what, how much in use, the limit); the ones after
// it are counted and reported on the next line written for that pair (or by flush()).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <ostream>
#include <string>
#include <tuple>
#include <utility>

#include "rcmgr/detail/printable.hpp"
#include "rcmgr/observer.hpp"

namespace rcmgr {

class refusal_logger {
 public:
  using clock = std::chrono::steady_clock;
  /// Most (scope, resource) pairs remembered at once. Peer ids are chosen by remote peers: past
  /// this, refusals of new pairs are counted together under "other scopes".
  static constexpr std::size_t max_pairs = 4096;

  /// Starts logging to `os`, one line per (scope, resource) per `interval`.
  void attach(std::ostream& os, clock::duration interval = std::chrono::seconds(10)) {
    std::lock_guard lk(mu_);
    os_ = &os;
    interval_ = interval;
  }
  /// Replaces the clock (tests; or a coarse clock). Default: steady_clock::now.
  void set_clock(std::function<clock::time_point()> now) {
    std::lock_guard lk(mu_);
    now_ = std::move(now);
  }

  /// Refusals only: the manager builds no other event for it.
  static constexpr bool wants(scope_event::type t, std::string_view) noexcept {
    return t == scope_event::type::open_refused || t == scope_event::type::attach_refused ||
           t == scope_event::type::reserve_refused;
  }

  void on_event(const scope_event& e) {
    if (e.err == nullptr || e.err->code != errc::limit_exceeded) return;
    std::lock_guard lk(mu_);
    if (os_ == nullptr) return;
    const auto now = now_ ? now_() : clock::now();
    std::string key = e.err->scope.str();
    auto it = pairs_.find({key, e.err->res});
    if (it == pairs_.end()) {
      if (pairs_.size() >= max_pairs) expire(now);
      if (pairs_.size() >= max_pairs) key = "other scopes";
      bool fresh = false;
      std::tie(it, fresh) = pairs_.try_emplace({std::move(key), e.err->res});
      if (fresh) it->second.last = now - interval_;  // a new pair logs at once
    }
    auto& w = it->second;
    if (now - w.last < interval_) {
      ++w.suppressed;
      ++suppressed_total_;
      return;
    }
    *os_ << "rcmgr: refused: " << *e.err;
    if (w.suppressed != 0) write_suppressed(w.suppressed, it->first, now - w.last, " before this one");
    *os_ << '\n';
    w.last = now;
    w.suppressed = 0;
    ++lines_;
  }

  /// Writes a line for every pair with suppressed refusals not yet reported, and forgets them.
  void flush() {
    std::lock_guard lk(mu_);
    if (os_ == nullptr) return;
    const auto now = now_ ? now_() : clock::now();
    for (auto& [k, w] : pairs_) {
      if (w.suppressed == 0) continue;
      *os_ << "rcmgr:";
      write_suppressed(w.suppressed, k, now - w.last, "");
      *os_ << '\n';
      w.suppressed = 0;
      ++lines_;
    }
  }
  /// Lines written so far.
  std::uint64_t lines() const {
    std::lock_guard lk(mu_);
    return lines_;
  }
  /// Refusals not written as their own line (counted on other lines).
  std::uint64_t suppressed() const {
    std::lock_guard lk(mu_);
    return suppressed_total_;
  }

 private:
  struct window {
    clock::time_point last{};
    std::uint64_t suppressed = 0;
  };
  using pair_key = std::pair<std::string, resource>;

  void write_suppressed(std::uint64_t n, const pair_key& k, clock::duration over, const char* tail) {
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(over).count();
    *os_ << " (" << n << " more refusal" << (n == 1 ? "" : "s") << " of " << to_string(k.second) << " by ";
    detail::write_printable(*os_, k.first);  // scope_name::str(): the key's raw bytes
    *os_ << " in the last " << ms / 1000 << '.' << (ms % 1000) / 100 << " s" << tail << ')';
  }
  /// Drops pairs whose window has passed with nothing suppressed (nothing is lost).
  void expire(clock::time_point now) {
    for (auto it = pairs_.begin(); it != pairs_.end();) {
      if (it->second.suppressed == 0 && now - it->second.last >= interval_) it = pairs_.erase(it);
      else ++it;
    }
  }

  mutable std::mutex mu_;
  std::ostream* os_ = nullptr;
  clock::duration interval_ = std::chrono::seconds(10);
  std::function<clock::time_point()> now_;
  std::map<pair_key, window> pairs_;
  std::uint64_t lines_ = 0, suppressed_total_ = 0;
};

}  // namespace rcmgr
