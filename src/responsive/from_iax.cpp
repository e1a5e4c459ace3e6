// Observations from parsed IAX2 frames.
#include "iax/iax.h"
#include "responsive/responsive.h"

namespace pbxwall::responsive {
namespace {

IaxCommand command_of(iax::Command c) {
  switch (c) {
    case iax::Command::new_: return IaxCommand::new_;
    case iax::Command::regreq: return IaxCommand::regreq;
    case iax::Command::regauth: return IaxCommand::regauth;
    case iax::Command::regack: return IaxCommand::regack;
    case iax::Command::regrej: return IaxCommand::regrej;
    case iax::Command::regrel: return IaxCommand::regrel;
    case iax::Command::authreq: return IaxCommand::authreq;
    case iax::Command::authrep: return IaxCommand::authrep;
    case iax::Command::accept: return IaxCommand::accept;
    case iax::Command::reject: return IaxCommand::reject;
    case iax::Command::hangup: return IaxCommand::hangup;
    case iax::Command::poke: return IaxCommand::poke;
    case iax::Command::pong: return IaxCommand::pong;
    default: return IaxCommand::other;
  }
}

}  // namespace

std::optional<Observation> from_iax(const iax::Frame& f, const PacketMeta& meta) {
  // Media (mini and meta frames) says nothing about who is calling.
  if (f.kind != iax::FrameKind::full) return std::nullopt;
  IaxFrame x;
  x.command = f.frame_type == iax::frame_type::iax ? command_of(f.command) : IaxCommand::other;
  x.source_call = f.source_call;
  x.dest_call = f.dest_call;
  x.retransmitted = f.retransmitted;
  if (f.frame_type == iax::frame_type::iax) {
    x.username = f.ies.username;
    x.called_number = f.ies.called_number;
    x.has_md5_result = f.ies.has_md5_result;
    x.has_rsa_result = f.ies.has_rsa_result;
    x.refresh = f.ies.refresh;
    x.cause_code = f.ies.causecode;
  }
  return Observation{meta, x};
}

Observation from_iax_error(const iax::ParseError& error, const PacketMeta& meta) {
  return Observation{meta, Malformed{Protocol::iax, error.reason}};
}

}  // namespace pbxwall::responsive
