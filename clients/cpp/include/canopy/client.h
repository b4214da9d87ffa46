// canopy's C++ client: dialling canopyd with TLS or over plaintext loopback,
// OAuth 2 tokens from the client credentials canopyd writes (refreshed before
// they expire) as gRPC call credentials, a stub per service, and a wait for
// operations. The messages and stubs are generated from canopy's protos when
// this package builds (canopy/v1/*.pb.h, *.grpc.pb.h).
//
//   auto c = canopy::Client::FromEnv();          // CANOPY_ADDR, CANOPY_TOKEN or the credentials file
//   canopy::v1::ListFlavorsResponse flavors;
//   grpc::ClientContext ctx;
//   c.compute->ListFlavors(&ctx, {}, &flavors);
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <grpcpp/grpcpp.h>

#include "canopy/v1/auth.grpc.pb.h"
#include "canopy/v1/cloud.grpc.pb.h"
#include "canopy/v1/compute.grpc.pb.h"
#include "canopy/v1/container.grpc.pb.h"
#include "canopy/v1/image_transfer.grpc.pb.h"
#include "canopy/v1/object.grpc.pb.h"
#include "canopy/v1/operation.grpc.pb.h"
#include "canopy/v1/volume.grpc.pb.h"

namespace canopy {

// Credentials is the credentials file canopyd's first start writes (and
// `canopy login`): an OAuth client and where to exchange it for tokens.
struct Credentials {
  std::string client_id;
  std::string client_secret;
  std::string token_url;  // http://host:port/oauth2/token
  std::string grpc_addr;  // may be empty

  // Reads one profile of a credentials file: profile, else
  // $CANOPY_PROFILE, else the default one at the file's top level (named
  // profiles are under "profiles", as `canopy login --profile` writes
  // them). Throws std::runtime_error naming what is wrong.
  static Credentials FromFile(const std::string& path, const std::string& profile = "");
  // $CANOPY_CREDENTIALS, else $XDG_CONFIG_HOME/canopy/credentials.json.
  static std::string DefaultPath();
};

// Token is an access token and when it expires.
struct Token {
  std::string access_token;
  std::chrono::steady_clock::time_point expiry;
};

// FetchToken exchanges client credentials at token_url (client-credentials
// grant, HTTP basic auth). Only http:// token URLs are supported (canopyd on
// loopback or behind a trusted network); for an https endpoint pass a token
// instead. Throws std::runtime_error with the endpoint's answer.
Token FetchToken(const Credentials& c);

// TokenSource hands out a token, fetching a new one kRefreshBefore before
// the current one expires. Thread-safe.
class TokenSource {
 public:
  static constexpr std::chrono::seconds kRefreshBefore{30};
  explicit TokenSource(Credentials c) : creds_(std::move(c)), fixed_(false) {}
  // A fixed token, never refreshed ($CANOPY_TOKEN).
  static std::shared_ptr<TokenSource> Static(std::string token);
  std::string Get();
  int fetches() const { return fetches_; }

 private:
  TokenSource() : fixed_(true) {}
  Credentials creds_;
  bool fixed_;
  std::mutex mu_;
  Token tok_;
  int fetches_ = 0;
};

// Options says how to reach canopyd. Empty fields fall back to the
// environment in Client::FromEnv.
struct Options {
  std::string address;           // host:port; default 127.0.0.1:8470
  std::string token;             // a raw token, sent as is
  std::string credentials_file;  // client credentials; used when token is empty
  std::string profile;           // its profile; default $CANOPY_PROFILE, else "default"
  std::string ca_file;           // PEM roots: TLS with these
  bool tls = false;              // TLS with the system roots
};

// Client is one channel to canopyd and a stub per service. Every call is
// authenticated with the token source's token. Over plaintext a token is
// sent only to a loopback address (Dial throws otherwise).
class Client {
 public:
  static Client Dial(const Options& o);
  // Options from the environment: CANOPY_ADDR, CANOPY_TOKEN,
  // CANOPY_CREDENTIALS (or the default credentials file, if it exists),
  // CANOPY_PROFILE, CANOPY_CA_FILE.
  static Client FromEnv();

  std::shared_ptr<grpc::Channel> channel;
  std::shared_ptr<TokenSource> tokens;  // null: no token is sent
  std::string address;
  std::unique_ptr<v1::ComputeService::Stub> compute;
  std::unique_ptr<v1::VolumeService::Stub> volumes;
  std::unique_ptr<v1::ObjectService::Stub> objects;
  std::unique_ptr<v1::ImageTransferService::Stub> images;
  std::unique_ptr<v1::ContainerService::Stub> containers;
  std::unique_ptr<v1::OperationService::Stub> operations;
  std::unique_ptr<v1::CloudService::Stub> clouds;
  std::unique_ptr<v1::AuthService::Stub> auth;

  // Wait waits (canopyd's WaitOperation) until op is done or timeout passes
  // and returns the last state; a failed operation is returned done with
  // its error set. A failed call is returned as its status.
  grpc::Status Wait(v1::Operation* op, std::chrono::seconds timeout = std::chrono::seconds(600));
};

// Deadline is a ClientContext deadline helper: now + d.
inline std::chrono::system_clock::time_point Deadline(std::chrono::seconds d = std::chrono::seconds(30)) {
  return std::chrono::system_clock::now() + d;
}

// IsLoopback reports whether host:port names a loopback address.
bool IsLoopback(const std::string& address);

}  // namespace canopy
