// SIP and IAX2 traffic for replay tests: requests as tools and phones send them, and the
// PBX's answers (which copy Via, From, To, Call-ID and CSeq as RFC 3261 requires).
#pragma once

#include <cstdint>
#include <string>

namespace pbxwall::capture::traffic {

struct Request {
  std::string method = "REGISTER";
  std::string user = "100";        // To / request-URI user
  std::string domain = "203.0.113.1";
  std::string from_host = "198.51.100.10";
  std::string via_host = "198.51.100.10";
  std::string transport = "UDP";
  std::string user_agent = "Yealink SIP-T46S 66.86.0.15";
  std::string call_id = "a84b4c76e66710";
  std::uint32_t cseq = 1;
  std::string branch = "z9hG4bK776asdhds";
  std::string authorization;       // full header value, empty: none
  int expires = 3600;              // REGISTER: Expires header; < 0: none
};

inline std::string request_text(const Request& r) {
  const std::string uri = r.method == "REGISTER" ? "sip:" + r.domain : "sip:" + r.user + "@" + r.domain;
  std::string s = r.method + " " + uri + " SIP/2.0\r\n";
  s += "Via: SIP/2.0/" + r.transport + " " + r.via_host + ":5060;branch=" + r.branch + ";rport\r\n";
  s += "Max-Forwards: 70\r\n";
  s += "From: <sip:" + r.user + "@" + r.domain + ">;tag=1928301774\r\n";
  s += "To: <sip:" + r.user + "@" + r.domain + ">\r\n";
  s += "Call-ID: " + r.call_id + "\r\n";
  s += "CSeq: " + std::to_string(r.cseq) + " " + r.method + "\r\n";
  s += "Contact: <sip:" + r.user + "@" + r.from_host + ":5060>\r\n";
  if (!r.authorization.empty()) s += "Authorization: " + r.authorization + "\r\n";
  if (r.method == "REGISTER" && r.expires >= 0) s += "Expires: " + std::to_string(r.expires) + "\r\n";
  if (!r.user_agent.empty()) s += "User-Agent: " + r.user_agent + "\r\n";
  s += "Content-Length: 0\r\n\r\n";
  return s;
}

inline std::string digest(const std::string& user, const std::string& domain) {
  return "Digest username=\"" + user + "\",realm=\"" + domain +
         "\",nonce=\"5f1a2b\",uri=\"sip:" + domain + "\",response=\"0123456789abcdef0123456789abcdef\","
         "algorithm=MD5,qop=auth,nc=00000001,cnonce=\"abc\"";
}

inline std::string response_text(const Request& r, int code, const std::string& reason,
                                 const std::string& extra = "") {
  std::string s = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
  s += "Via: SIP/2.0/" + r.transport + " " + r.via_host + ":5060;branch=" + r.branch + ";rport=5060;received=" +
       r.from_host + "\r\n";
  s += "From: <sip:" + r.user + "@" + r.domain + ">;tag=1928301774\r\n";
  s += "To: <sip:" + r.user + "@" + r.domain + ">;tag=as5f0\r\n";
  s += "Call-ID: " + r.call_id + "\r\n";
  s += "CSeq: " + std::to_string(r.cseq) + " " + r.method + "\r\n";
  s += extra;
  s += "Server: kamailio (5.6.3 (x86_64/linux))\r\n";
  s += "Content-Length: 0\r\n\r\n";
  return s;
}

inline std::string challenge(const Request& r) {
  return response_text(r, 401, "Unauthorized",
                       "WWW-Authenticate: Digest realm=\"" + r.domain + "\", nonce=\"5f1a2b\", qop=\"auth\"\r\n");
}

inline std::string registered(const Request& r, int expires) {
  return response_text(r, 200, "OK",
                       "Contact: <sip:" + r.user + "@" + r.from_host + ":5060>;expires=" +
                           std::to_string(expires) + "\r\n");
}

// An IAX2 full frame of type IAX (6) with the given subclass and information elements.
inline std::string iax_frame(std::uint16_t source_call, std::uint16_t dest_call, std::uint8_t oseq,
                             std::uint8_t iseq, std::uint8_t subclass, const std::string& ies) {
  std::string f(12, '\0');
  f[0] = static_cast<char>(0x80 | (source_call >> 8));
  f[1] = static_cast<char>(source_call & 0xff);
  f[2] = static_cast<char>(dest_call >> 8);
  f[3] = static_cast<char>(dest_call & 0xff);
  f[7] = 3;  // timestamp
  f[8] = static_cast<char>(oseq);
  f[9] = static_cast<char>(iseq);
  f[10] = 6;
  f[11] = static_cast<char>(subclass);
  return f + ies;
}

inline std::string iax_ie(std::uint8_t id, const std::string& value) {
  return std::string(1, static_cast<char>(id)) + std::string(1, static_cast<char>(value.size())) + value;
}
inline std::string iax_ie16(std::uint8_t id, std::uint16_t v) {
  return iax_ie(id, std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xff)});
}

}  // namespace pbxwall::capture::traffic
