#pragma once
/// A socket that a client library (libpq, hiredis) owns and closes, watched by Asio for readiness: Asio
/// must release it, never close it, or the library would later close a number that may be reused by then.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace projectord {

struct BorrowedSocket {
  boost::asio::posix::stream_descriptor descriptor;
  BorrowedSocket(boost::asio::io_context& io, int fd) : descriptor(io, fd) {}
  BorrowedSocket(const boost::asio::any_io_executor& executor, int fd) : descriptor(executor, fd) {}
  ~BorrowedSocket() { descriptor.release(); }
  BorrowedSocket(const BorrowedSocket&) = delete;
  BorrowedSocket& operator=(const BorrowedSocket&) = delete;
};

}  // namespace projectord
