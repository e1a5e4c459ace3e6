// Names of methods, transports and anomalies, and the method lookup.
#include "sip/sip.h"
#include "sip/syntax.h"

namespace pbxwall::sip {

namespace {

struct MethodName {
  Method method;
  std::string_view name;
};

constexpr MethodName kMethods[] = {
    {Method::invite, "INVITE"},       {Method::ack, "ACK"},           {Method::bye, "BYE"},
    {Method::cancel, "CANCEL"},       {Method::register_, "REGISTER"}, {Method::options, "OPTIONS"},
    {Method::info, "INFO"},           {Method::update, "UPDATE"},     {Method::prack, "PRACK"},
    {Method::subscribe, "SUBSCRIBE"}, {Method::notify, "NOTIFY"},     {Method::refer, "REFER"},
    {Method::message, "MESSAGE"},     {Method::publish, "PUBLISH"},
};

}  // namespace

const char* method_name(Method m) {
  for (const auto& entry : kMethods)
    if (entry.method == m) return entry.name.data();
  return "unknown";
}

Method method_from_token(std::string_view token) {
  for (const auto& entry : kMethods)
    if (detail::same(entry.name, token)) return entry.method;
  return Method::unknown;
}

const char* transport_name(Transport t) {
  switch (t) {
    case Transport::udp: return "udp";
    case Transport::tcp: return "tcp";
    case Transport::tls: return "tls";
    case Transport::sctp: return "sctp";
    case Transport::ws: return "ws";
    case Transport::wss: return "wss";
    case Transport::unknown: break;
  }
  return "unknown";
}

const char* anomaly_name(Anomaly a) {
  switch (a) {
    case Anomaly::truncated_header_section: return "truncated_header_section";
    case Anomaly::truncated_body: return "truncated_body";
    case Anomaly::header_section_too_large: return "header_section_too_large";
    case Anomaly::empty_message: return "empty_message";
    case Anomaly::bad_request_line: return "bad_request_line";
    case Anomaly::bad_status_line: return "bad_status_line";
    case Anomaly::bad_sip_version: return "bad_sip_version";
    case Anomaly::bad_request_uri: return "bad_request_uri";
    case Anomaly::bad_status_code: return "bad_status_code";
    case Anomaly::bad_header_line: return "bad_header_line";
    case Anomaly::missing_call_id: return "missing_call_id";
    case Anomaly::missing_cseq: return "missing_cseq";
    case Anomaly::missing_from: return "missing_from";
    case Anomaly::missing_to: return "missing_to";
    case Anomaly::missing_via: return "missing_via";
    case Anomaly::duplicate_call_id: return "duplicate_call_id";
    case Anomaly::duplicate_cseq: return "duplicate_cseq";
    case Anomaly::duplicate_from: return "duplicate_from";
    case Anomaly::duplicate_to: return "duplicate_to";
    case Anomaly::bad_cseq: return "bad_cseq";
    case Anomaly::bad_from: return "bad_from";
    case Anomaly::bad_to: return "bad_to";
    case Anomaly::bad_via: return "bad_via";
    case Anomaly::bad_content_length: return "bad_content_length";
    case Anomaly::duplicate_content_length: return "duplicate_content_length";
    case Anomaly::cseq_method_mismatch: return "cseq_method_mismatch";
    case Anomaly::bad_max_forwards: return "bad_max_forwards";
    case Anomaly::bad_expires: return "bad_expires";
    case Anomaly::bad_contact: return "bad_contact";
    case Anomaly::bad_authorization: return "bad_authorization";
    case Anomaly::unknown_via_transport: return "unknown_via_transport";
    case Anomaly::missing_content_length: return "missing_content_length";
    case Anomaly::body_longer_than_content_length: return "body_longer_than_content_length";
    case Anomaly::folded_header_line: return "folded_header_line";
    case Anomaly::unterminated_header_section: return "unterminated_header_section";
    case Anomaly::content_length_beyond_datagram: return "content_length_beyond_datagram";
    case Anomaly::cseq_method_differs: return "cseq_method_differs";
    case Anomaly::repeated_user_agent: return "repeated_user_agent";
    case Anomaly::unbracketed_ipv6_uri: return "unbracketed_ipv6_uri";
    case Anomaly::count_: break;
  }
  return "unknown_anomaly";
}

bool is_fatal(Anomaly a) { return a < Anomaly::bad_max_forwards; }

}  // namespace pbxwall::sip
