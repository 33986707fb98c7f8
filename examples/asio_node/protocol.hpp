// The wire protocol of examples/asio_node and examples/flood_client: length-prefixed frames with
// streams multiplexed over one TCP connection.
//
//   frame  = header payload
//   header = length:u32 type:u8 stream:u32        (9 bytes, big-endian; length counts the payload)
//
//   hello    c->s  payload: the peer id (text)           the connection's first frame
//   hello_ok s->c
//   open     c->s  stream: new id, payload: protocol name
//   open_ok  s->c  stream                                 the stream was admitted
//   data     both  stream, payload: bytes
//   close    c->s  stream                                 the client is done with the stream
//   reset    s->c  stream, payload: why (one line)        the server dropped the stream
//   goaway   s->c  payload: why                           the server is closing the connection
//
// Protocols: "/echo/1.0.0" answers each data frame with the same bytes; "/upload/1.0.0" keeps the
// data frames of a stream until close, then answers with the total length (8 bytes, big-endian).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace node_proto {

enum class frame_type : std::uint8_t { hello = 1, hello_ok, open, open_ok, data, close, reset, goaway };

inline constexpr std::size_t header_size = 9;
/// The largest payload the protocol allows (bytes); a longer frame ends the connection.
inline constexpr std::uint32_t max_payload = 16u << 20;
inline constexpr std::string_view echo_protocol = "/echo/1.0.0";
inline constexpr std::string_view upload_protocol = "/upload/1.0.0";

struct header {
  std::uint32_t length = 0;  ///< payload bytes
  frame_type type = frame_type::data;
  std::uint32_t stream = 0;
};

inline void put_u32(unsigned char* p, std::uint32_t v) noexcept {
  p[0] = static_cast<unsigned char>(v >> 24);
  p[1] = static_cast<unsigned char>(v >> 16);
  p[2] = static_cast<unsigned char>(v >> 8);
  p[3] = static_cast<unsigned char>(v);
}
inline std::uint32_t get_u32(const unsigned char* p) noexcept {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

inline std::array<unsigned char, header_size> encode(const header& h) noexcept {
  std::array<unsigned char, header_size> b{};
  put_u32(b.data(), h.length);
  b[4] = static_cast<unsigned char>(h.type);
  put_u32(b.data() + 5, h.stream);
  return b;
}
inline header decode(const unsigned char* b) noexcept {
  return header{get_u32(b), static_cast<frame_type>(b[4]), get_u32(b + 5)};
}
inline bool known_type(frame_type t) noexcept {
  return t >= frame_type::hello && t <= frame_type::goaway;
}

}  // namespace node_proto
