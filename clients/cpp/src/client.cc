#include "canopy/client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <google/protobuf/duration.pb.h>
#include <grpcpp/security/credentials.h>
#include <sstream>

namespace canopy {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// JSONString extracts "key": "value" from a flat JSON object (the
// credentials file, a token response): enough for these two documents.
std::string JSONString(const std::string& doc, const std::string& key) {
  auto k = doc.find("\"" + key + "\"");
  if (k == std::string::npos) return "";
  auto colon = doc.find(':', k + key.size() + 2);
  if (colon == std::string::npos) return "";
  auto q = doc.find_first_not_of(" \t\r\n", colon + 1);
  if (q == std::string::npos) return "";
  if (doc[q] != '"') {  // a number
    auto end = doc.find_first_of(",}", q);
    return doc.substr(q, end - q);
  }
  std::string out;
  for (size_t i = q + 1; i < doc.size() && doc[i] != '"'; ++i) {
    if (doc[i] == '\\' && i + 1 < doc.size()) ++i;
    out += doc[i];
  }
  return out;
}

// SkipString returns the index just past the JSON string starting at q
// (doc[q] == '"'), or npos.
size_t SkipString(const std::string& doc, size_t q) {
  for (size_t i = q + 1; i < doc.size(); ++i) {
    if (doc[i] == '\\') {
      ++i;
    } else if (doc[i] == '"') {
      return i + 1;
    }
  }
  return std::string::npos;
}

// JSONObject returns the object that is the value of key among the
// top-level members of the object doc ("" when there is none): the
// credentials file's "profiles" and each profile in it. Strings and nested
// objects are skipped whole, so a key inside another member never matches.
std::string JSONObject(const std::string& doc, const std::string& key, std::string* rest = nullptr) {
  size_t i = doc.find('{');
  if (i == std::string::npos) return "";
  int depth = 0;
  for (; i < doc.size(); ++i) {
    char ch = doc[i];
    if (ch == '{' || ch == '[') {
      ++depth;
    } else if (ch == '}' || ch == ']') {
      --depth;
    } else if (ch == '"') {
      size_t end = SkipString(doc, i);
      if (end == std::string::npos) return "";
      bool match = depth == 1 && doc.compare(i + 1, end - i - 2, key) == 0 && end - i - 2 == key.size();
      size_t colon = doc.find_first_not_of(" \t\r\n", end);
      if (match && colon != std::string::npos && doc[colon] == ':') {
        size_t open = doc.find_first_not_of(" \t\r\n", colon + 1);
        if (open == std::string::npos || doc[open] != '{') return "";
        int d = 0;
        for (size_t j = open; j < doc.size(); ++j) {
          if (doc[j] == '"') {
            j = SkipString(doc, j);
            if (j == std::string::npos) return "";
            --j;
          } else if (doc[j] == '{') {
            ++d;
          } else if (doc[j] == '}' && --d == 0) {
            if (rest) *rest = doc.substr(0, open) + "{}" + doc.substr(j + 1);
            return doc.substr(open, j + 1 - open);
          }
        }
        return "";
      }
      i = end - 1;
    }
  }
  return "";
}

std::string Base64(const std::string& in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(tbl[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(tbl[((val << 8) >> (bits + 8)) & 0x3F]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

std::string URLEncode(const std::string& s) {
  std::ostringstream o;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      o << c;
    } else {
      char buf[4];
      snprintf(buf, sizeof buf, "%%%02X", c);
      o << buf;
    }
  }
  return o.str();
}

// HTTPPost sends one HTTP/1.1 POST (Connection: close) and returns the
// status code and body.
std::pair<int, std::string> HTTPPost(const std::string& url, const std::string& auth, const std::string& body) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) {
    throw std::runtime_error("token URL " + url + ": only http:// is supported; pass a token (CANOPY_TOKEN) instead");
  }
  auto rest = url.substr(scheme.size());
  auto slash = rest.find('/');
  std::string hostport = rest.substr(0, slash), path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = hostport, port = "80";
  if (auto c = hostport.rfind(':'); c != std::string::npos && hostport.find(']') == std::string::npos) {
    host = hostport.substr(0, c);
    port = hostport.substr(c + 1);
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    throw std::runtime_error("token URL " + url + ": cannot resolve " + host);
  }
  int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
  if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    if (fd >= 0) close(fd);
    freeaddrinfo(res);
    throw std::runtime_error("token URL " + url + ": cannot connect");
  }
  freeaddrinfo(res);
  std::ostringstream req;
  req << "POST " << path << " HTTP/1.1\r\nHost: " << hostport << "\r\nAuthorization: Basic " << auth
      << "\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\nContent-Length: "
      << body.size() << "\r\nConnection: close\r\n\r\n"
      << body;
  const std::string out = req.str();
  for (size_t sent = 0; sent < out.size();) {
    ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, 0);
    if (n <= 0) {
      close(fd);
      throw std::runtime_error("token URL " + url + ": send failed");
    }
    sent += n;
  }
  std::string resp;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) resp.append(buf, n);
  close(fd);
  int code = 0;
  if (resp.rfind("HTTP/1.", 0) == 0) code = std::atoi(resp.c_str() + 9);
  auto hdr_end = resp.find("\r\n\r\n");
  std::string payload = hdr_end == std::string::npos ? "" : resp.substr(hdr_end + 4);
  if (resp.find("Transfer-Encoding: chunked") != std::string::npos && hdr_end != std::string::npos) {
    std::string dechunked;
    size_t pos = 0;
    while (pos < payload.size()) {
      size_t eol = payload.find("\r\n", pos);
      if (eol == std::string::npos) break;
      size_t len = std::stoul(payload.substr(pos, eol - pos), nullptr, 16);
      if (len == 0) break;
      dechunked += payload.substr(eol + 2, len);
      pos = eol + 2 + len + 2;
    }
    payload = dechunked;
  }
  return {code, payload};
}

class TokenPlugin : public grpc::MetadataCredentialsPlugin {
 public:
  explicit TokenPlugin(std::shared_ptr<TokenSource> src) : src_(std::move(src)) {}
  grpc::Status GetMetadata(grpc::string_ref, grpc::string_ref, const grpc::AuthContext&,
                           std::multimap<grpc::string, grpc::string>* md) override {
    try {
      md->insert({"authorization", "Bearer " + src_->Get()});
      return grpc::Status::OK;
    } catch (const std::exception& e) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, e.what());
    }
  }

 private:
  std::shared_ptr<TokenSource> src_;
};

}  // namespace

std::string Credentials::DefaultPath() {
  if (auto p = Env("CANOPY_CREDENTIALS"); !p.empty()) return p;
  auto base = Env("XDG_CONFIG_HOME");
  if (base.empty()) base = Env("HOME") + "/.config";
  return base + "/canopy/credentials.json";
}

Credentials Credentials::FromFile(const std::string& path, const std::string& profile) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("credentials file " + path + ": cannot open");
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string file = ss.str();
  std::string name = profile.empty() ? Env("CANOPY_PROFILE") : profile;
  if (name.empty()) name = "default";
  // The default profile is the top level without "profiles" (whose
  // members have the same keys); a named one is a member of "profiles".
  std::string top = file;
  std::string profiles = JSONObject(file, "profiles", &top);
  std::string doc = name == "default" ? top : JSONObject(profiles, name);
  if (doc.empty() || (name == "default" && JSONString(doc, "client_id").empty())) {
    throw std::runtime_error("credentials file " + path + ": no profile \"" + name + "\"");
  }
  Credentials c{JSONString(doc, "client_id"), JSONString(doc, "client_secret"), JSONString(doc, "token_url"),
                JSONString(doc, "grpc_addr")};
  if (c.client_id.empty() || c.client_secret.empty() || c.token_url.empty()) {
    throw std::runtime_error("credentials file " + path + ": profile \"" + name +
                             "\" needs client_id, client_secret and token_url");
  }
  return c;
}

Token FetchToken(const Credentials& c) {
  auto [code, body] = HTTPPost(c.token_url, Base64(URLEncode(c.client_id) + ":" + URLEncode(c.client_secret)),
                               "grant_type=client_credentials");
  if (code != 200) {
    throw std::runtime_error("token from " + c.token_url + ": HTTP " + std::to_string(code) + ": " + body);
  }
  Token t{JSONString(body, "access_token"), {}};
  if (t.access_token.empty()) throw std::runtime_error("token from " + c.token_url + ": no access_token");
  long expires = std::atol(JSONString(body, "expires_in").c_str());
  if (expires <= 0) expires = 3600;
  t.expiry = std::chrono::steady_clock::now() + std::chrono::seconds(expires);
  return t;
}

std::shared_ptr<TokenSource> TokenSource::Static(std::string token) {
  std::shared_ptr<TokenSource> s(new TokenSource());
  s->tok_.access_token = std::move(token);
  return s;
}

std::string TokenSource::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fixed_) return tok_.access_token;
  if (tok_.access_token.empty() || std::chrono::steady_clock::now() + kRefreshBefore >= tok_.expiry) {
    tok_ = FetchToken(creds_);
    ++fetches_;
  }
  return tok_.access_token;
}

bool IsLoopback(const std::string& address) {
  auto c = address.rfind(':');
  std::string host = c == std::string::npos ? address : address.substr(0, c);
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  in_addr a4{};
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  in6_addr a6{};
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return false;
}

Client Client::Dial(const Options& o) {
  Client c;
  c.address = o.address.empty() ? "127.0.0.1:8470" : o.address;
  if (!o.token.empty()) {
    c.tokens = TokenSource::Static(o.token);
  } else if (!o.credentials_file.empty()) {
    c.tokens = std::make_shared<TokenSource>(Credentials::FromFile(o.credentials_file, o.profile));
  }
  std::shared_ptr<grpc::ChannelCredentials> transport;
  if (o.tls || !o.ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!o.ca_file.empty()) {
      std::ifstream f(o.ca_file);
      if (!f) throw std::runtime_error("CA file " + o.ca_file + ": cannot open");
      std::stringstream ss;
      ss << f.rdbuf();
      ssl.pem_root_certs = ss.str();
    }
    transport = grpc::SslCredentials(ssl);
  } else if (c.tokens) {
    if (!IsLoopback(c.address)) {
      throw std::runtime_error("refusing to send a token in plaintext to " + c.address + ": use TLS");
    }
    // Call credentials need a secure channel; a loopback TCP connection
    // counts as one (gRPC's local credentials), in plaintext.
    transport = grpc::experimental::LocalCredentials(LOCAL_TCP);
  } else {
    transport = grpc::InsecureChannelCredentials();
  }
  if (c.tokens) {
    transport = grpc::CompositeChannelCredentials(
        transport, grpc::MetadataCredentialsFromPlugin(std::make_unique<TokenPlugin>(c.tokens)));
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  args.SetUserAgentPrefix("canopy-cpp");
  c.channel = grpc::CreateCustomChannel(c.address, transport, args);
  c.compute = v1::ComputeService::NewStub(c.channel);
  c.volumes = v1::VolumeService::NewStub(c.channel);
  c.objects = v1::ObjectService::NewStub(c.channel);
  c.images = v1::ImageTransferService::NewStub(c.channel);
  c.containers = v1::ContainerService::NewStub(c.channel);
  c.operations = v1::OperationService::NewStub(c.channel);
  c.clouds = v1::CloudService::NewStub(c.channel);
  c.auth = v1::AuthService::NewStub(c.channel);
  return c;
}

Client Client::FromEnv() {
  Options o;
  o.address = Env("CANOPY_ADDR");
  o.token = Env("CANOPY_TOKEN");
  o.ca_file = Env("CANOPY_CA_FILE");
  if (o.token.empty()) {
    auto path = Credentials::DefaultPath();
    if (std::ifstream(path).good()) {
      o.credentials_file = path;
      if (o.address.empty()) o.address = Credentials::FromFile(path).grpc_addr;
    }
  }
  return Dial(o);
}

grpc::Status Client::Wait(v1::Operation* op, std::chrono::seconds timeout) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (!op->done() && std::chrono::steady_clock::now() < until) {
    auto slice = std::min<std::chrono::seconds>(std::chrono::seconds(30), std::chrono::duration_cast<std::chrono::seconds>(until - std::chrono::steady_clock::now()) + std::chrono::seconds(1));
    grpc::ClientContext ctx;
    ctx.set_deadline(Deadline(slice + std::chrono::seconds(10)));
    v1::WaitOperationRequest req;
    req.set_id(op->id());
    req.mutable_timeout()->set_seconds(slice.count());
    v1::Operation next;
    grpc::Status st = operations->WaitOperation(&ctx, req, &next);
    if (!st.ok()) return st;
    *op = next;
  }
  return grpc::Status::OK;
}

}  // namespace canopy
