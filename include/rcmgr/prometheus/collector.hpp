// rcmgr::prometheus::collector: go-libp2p's resource manager metrics (the libp2p_rcmgr_* families,
// with go's names, labels and buckets) for a prometheus-cpp registry or exposer, so that
// go-libp2p's Grafana dashboard works unchanged against an rcmgr node.
//
// Gauges are read from the manager when scraped (stat() of system and transient, list of
// protocols, services and peers); refusals and connection memory come from a metrics_observer
// installed on the manager. A scrape costs O(live peers + protocols + services); a reservation
// pays nothing for the gauges. Part of the optional CMake target rcmgr::prometheus.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "rcmgr/detail/printable.hpp"
#include "rcmgr/libp2p/resource_manager.hpp"
#include "rcmgr/prometheus/metrics_observer.hpp"

namespace rcmgr::prometheus {

/// Exports a libp2p resource manager (rcmgr::resource_manager<...>) as go-libp2p does. Register it
/// with a ::prometheus::Exposer (as a std::shared_ptr) or call Collect() yourself. The manager
/// (and the observer) must outlive it. Collect() may run on any thread, concurrently with the
/// manager's use, under thread-safe policies.
template <class Manager>
class collector : public ::prometheus::Collectable {
 public:
  /// `events` defaults to the manager's own metrics_observer, if it has one (without it,
  /// blocked_resources and conn_memory are not exported).
  explicit collector(Manager& mgr) : collector(mgr, find_observer<metrics_observer>(mgr.observer())) {}
  collector(Manager& mgr, const metrics_observer* events) : mgr_(mgr), events_(events) {}

  std::vector<::prometheus::MetricFamily> Collect() const override {
    namespace lp = rcmgr::libp2p;
    using ::prometheus::MetricType;
    std::vector<::prometheus::MetricFamily> out;
    const scope_stat sys = mgr_.template stat<lp::system_scope>();
    const scope_stat tr = mgr_.template stat<lp::transient_scope>();
    const auto protocols = mgr_.list_protocols();
    const auto services = mgr_.list_services();
    const auto peers = mgr_.list_peers();

    auto& conns = family(out, "libp2p_rcmgr_connections", "Number of Connections", MetricType::Gauge);
    for (const auto& [name, st] : {std::pair<const char*, scope_stat>{"system", sys}, {"transient", tr}}) {
      gauge(conns, {{"dir", "inbound"}, {"scope", name}}, st.conns_inbound);
      gauge(conns, {{"dir", "outbound"}, {"scope", name}}, st.conns_outbound);
    }

    auto& streams = family(out, "libp2p_rcmgr_streams", "Number of Streams", MetricType::Gauge);
    for (const auto& [name, st] : {std::pair<const char*, scope_stat>{"system", sys}, {"transient", tr}}) {
      gauge(streams, {{"dir", "inbound"}, {"scope", name}, {"protocol", ""}}, st.streams_inbound);
      gauge(streams, {{"dir", "outbound"}, {"scope", name}, {"protocol", ""}}, st.streams_outbound);
    }
    for (const auto& [id, st] : protocols) {
      gauge(streams, {{"dir", "inbound"}, {"scope", "protocol"}, {"protocol", label_value(id)}}, st.streams_inbound);
      gauge(streams, {{"dir", "outbound"}, {"scope", "protocol"}, {"protocol", label_value(id)}}, st.streams_outbound);
    }

    auto& memory = family(out, "libp2p_rcmgr_memory", "Amount of memory reserved as reported to the Resource Manager",
                          MetricType::Gauge);
    gauge(memory, {{"scope", "system"}, {"protocol", ""}}, sys.memory);
    gauge(memory, {{"scope", "transient"}, {"protocol", ""}}, tr.memory);
    for (const auto& [id, st] : protocols) gauge(memory, {{"scope", "protocol"}, {"protocol", label_value(id)}}, st.memory);
    // go's dashboard has a "by service" panel reading {scope="service"} with a `service` label
    // that go never exports; rcmgr exports it, so that panel shows data.
    for (const auto& [name, st] : services)
      gauge(memory, {{"scope", "service"}, {"protocol", ""}, {"service", label_value(name)}}, st.memory);

    auto& fds = family(out, "libp2p_rcmgr_fds", "Number of file descriptors reserved as reported to the Resource Manager",
                       MetricType::Gauge);
    gauge(fds, {{"scope", "system"}}, sys.fd);
    gauge(fds, {{"scope", "transient"}}, tr.fd);

    peer_histograms(out, peers);

    if (events_ != nullptr) {
      auto& blocked = family(out, "libp2p_rcmgr_blocked_resources", "Number of blocked resources", MetricType::Gauge);
      using O = metrics_observer;
      for (std::size_t d = 0; d < O::dir_labels.size(); ++d)
        for (std::size_t s = 0; s < O::scope_labels.size(); ++s)
          for (std::size_t r = 0; r < O::resource_labels.size(); ++r)
            if (const auto v = events_->blocked(d, s, r); v != 0)
              gauge(blocked,
                    {{"dir", std::string(O::dir_labels[d])},
                     {"scope", std::string(O::scope_labels[s])},
                     {"resource", std::string(O::resource_labels[r])}},
                    static_cast<double>(v));
      histogram(out, "libp2p_rcmgr_conn_memory",
                "How many conns have reserved this bucket of memory, as reported to the Resource Manager",
                events_->conn_memory());
      histogram(out, "libp2p_rcmgr_previous_conn_memory",
                "How many conns have previously reserved this bucket of memory, as reported to the Resource Manager",
                events_->previous_conn_memory());
    }

    auto& limits = family(out, "libp2p_rcmgr_limit", "Resource manager limits", MetricType::Gauge);
    limit_series(limits, "system", mgr_.template get_limit<lp::system_scope>());
    limit_series(limits, "transient", mgr_.template get_limit<lp::transient_scope>());
    return out;
  }

 private:
  using labels = std::vector<::prometheus::ClientMetric::Label>;

  /// A protocol id or service name as a label value. The exposition format requires UTF-8 (the
  /// serializer escapes only '\\', '"' and newlines) and Prometheus rejects a whole scrape with
  /// one invalid label value: each byte that is not part of well-formed UTF-8 is written as the
  /// text \xNN.
  static std::string label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
      const auto c = static_cast<unsigned char>(v[i]);
      if (c < 0x80) {
        out += v[i];
      } else if (const std::size_t n = rcmgr::detail::utf8_sequence(v, i); n != 0) {
        out.append(v.data() + i, n);
        i += n - 1;
      } else {
        static constexpr char hex[] = "0123456789abcdef";
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 0xf];
      }
    }
    return out;
  }

  static ::prometheus::MetricFamily& family(std::vector<::prometheus::MetricFamily>& out, std::string name,
                                            std::string help, ::prometheus::MetricType type) {
    out.push_back({std::move(name), std::move(help), type, {}});
    return out.back();
  }
  static void gauge(::prometheus::MetricFamily& f, labels l, double v) {
    ::prometheus::ClientMetric m;
    m.label = std::move(l);
    m.gauge.value = v;
    f.metric.push_back(std::move(m));
  }
  template <class L>
  static void limit_series(::prometheus::MetricFamily& f, const char* scope, const L& l) {
    const std::pair<const char*, std::int64_t> values[] = {
        {"memory", l.memory_limit()},
        {"fd", l.fd_limit()},
        {"conns", l.conn_total_limit()},
        {"conns_inbound", l.conn_limit(direction::inbound)},
        {"conns_outbound", l.conn_limit(direction::outbound)},
        {"streams", l.stream_total_limit()},
        {"streams_inbound", l.stream_limit(direction::inbound)},
        {"streams_outbound", l.stream_limit(direction::outbound)},
    };
    for (const auto& [res, v] : values) gauge(f, {{"scope", scope}, {"resource", res}}, static_cast<double>(v));
  }
  template <std::size_t N>
  static void histogram(std::vector<::prometheus::MetricFamily>& out, std::string name, std::string help,
                        const atomic_histogram<N>& h) {
    auto& f = family(out, std::move(name), std::move(help), ::prometheus::MetricType::Histogram);
    ::prometheus::ClientMetric m;
    std::uint64_t cum = 0;
    for (std::size_t i = 0; i <= N; ++i) {
      cum += h.count(i);
      m.histogram.bucket.push_back({cum, i < N ? h.bounds()[i] : std::numeric_limits<double>::infinity()});
    }
    m.histogram.sample_count = cum;
    m.histogram.sample_sum = static_cast<double>(h.sum());
    f.metric.push_back(std::move(m));
  }

  /// A per-peer distribution exported as go does, as two monotonic histograms whose difference
  /// is the distribution now: go observes every change as it happens; here the distribution is
  /// read at each scrape and each bucket's change since the previous scrape is added to the
  /// current histogram (growth) or to the previous_* one (shrinkage). PromQL's
  /// `x_bucket - previous_x_bucket` then reads exactly the current distribution, as the
  /// dashboard expects; changes between two scrapes that cancel out are not seen.
  template <std::size_t N>
  struct twin {
    const std::array<double, N>* bounds;
    std::array<std::uint64_t, N + 1> entered{}, left{};
    std::uint64_t entered_sum = 0, left_sum = 0;
    void update(const std::vector<std::int64_t>& values) {
      std::array<std::uint64_t, N + 1> now{};
      std::uint64_t total = 0;
      for (std::int64_t v : values) {
        if (v <= 0) continue;  // go observes only non-zero values
        std::size_t i = 0;
        while (i < N && double(v) > (*bounds)[i]) ++i;
        ++now[i];
        total += static_cast<std::uint64_t>(v);
      }
      for (std::size_t i = 0; i <= N; ++i) {
        const std::uint64_t was = entered[i] - left[i];
        if (now[i] > was) entered[i] += now[i] - was;
        else left[i] += was - now[i];
      }
      const std::uint64_t was = entered_sum - left_sum;
      if (total > was) entered_sum += total - was;
      else left_sum += was - total;
    }
  };
  template <std::size_t N>
  static void export_twin(std::vector<::prometheus::MetricFamily>& out, const char* name, const char* prev_name,
                          const char* help, const char* prev_help, const std::array<twin<N>*, 2>& per_dir, bool with_dir) {
    auto& cur = family(out, name, help, ::prometheus::MetricType::Histogram);
    auto& prev = family(out, prev_name, prev_help, ::prometheus::MetricType::Histogram);
    for (std::size_t d = 0; d < (with_dir ? 2u : 1u); ++d) {
      const twin<N>& t = *per_dir[d];
      for (int which = 0; which < 2; ++which) {
        ::prometheus::ClientMetric m;
        if (with_dir) m.label = {{"dir", d == 0 ? "inbound" : "outbound"}};
        const auto& counts = which == 0 ? t.entered : t.left;
        std::uint64_t cum = 0;
        for (std::size_t i = 0; i <= N; ++i) {
          cum += counts[i];
          m.histogram.bucket.push_back({cum, i < N ? (*t.bounds)[i] : std::numeric_limits<double>::infinity()});
        }
        m.histogram.sample_count = cum;
        m.histogram.sample_sum = static_cast<double>(which == 0 ? t.entered_sum : t.left_sum);
        (which == 0 ? cur : prev).metric.push_back(std::move(m));
      }
    }
  }
  template <class Peers>
  void peer_histograms(std::vector<::prometheus::MetricFamily>& out, const Peers& peers) const {
    std::vector<std::int64_t> ci, co, si, so, mem;
    for (const auto& [id, st] : peers) {
      ci.push_back(st.conns_inbound);
      co.push_back(st.conns_outbound);
      si.push_back(st.streams_inbound);
      so.push_back(st.streams_outbound);
      mem.push_back(st.memory);
    }
    std::lock_guard lk(mu_);  // scrapes may overlap
    conns_[0].update(ci);
    conns_[1].update(co);
    streams_[0].update(si);
    streams_[1].update(so);
    memory_.update(mem);
    export_twin<count_buckets.size()>(out, "libp2p_rcmgr_peer_connections", "libp2p_rcmgr_previous_peer_connections",
                                      "Number of connections this peer has",
                                      "Number of connections this peer previously had", {&conns_[0], &conns_[1]}, true);
    export_twin<count_buckets.size()>(out, "libp2p_rcmgr_peer_streams", "libp2p_rcmgr_previous_peer_streams",
                                      "Number of streams this peer has", "Number of streams this peer previously had",
                                      {&streams_[0], &streams_[1]}, true);
    export_twin<memory_buckets.size()>(
        out, "libp2p_rcmgr_peer_memory", "libp2p_rcmgr_previous_peer_memory",
        "How many peers have reserved this bucket of memory, as reported to the Resource Manager",
        "How many peers have previously reserved this bucket of memory, as reported to the Resource Manager",
        {&memory_, &memory_}, false);
  }

  Manager& mgr_;
  const metrics_observer* events_;
  mutable std::mutex mu_;
  mutable std::array<twin<count_buckets.size()>, 2> conns_{twin<count_buckets.size()>{&count_buckets},
                                                           twin<count_buckets.size()>{&count_buckets}};
  mutable std::array<twin<count_buckets.size()>, 2> streams_{twin<count_buckets.size()>{&count_buckets},
                                                             twin<count_buckets.size()>{&count_buckets}};
  mutable twin<memory_buckets.size()> memory_{&memory_buckets};
};

template <class Manager>
collector(Manager&) -> collector<Manager>;

}  // namespace rcmgr::prometheus
