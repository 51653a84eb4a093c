// The one translation unit that compiles Asio and Beast (BOOST_ASIO_SEPARATE_COMPILATION,
// BOOST_BEAST_SEPARATE_COMPILATION; toolchain.md "Build cost"). Every other frontend file
// includes only their declarations.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
