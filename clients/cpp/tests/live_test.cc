// Tests of canopy::client against a live canopyd: scripts/test-clients.sh
// starts one and runs `ctest` with CANOPY_ADDR and CANOPY_CREDENTIALS set.
//   canopy-cpp-tests servers|volumes|objects|auth
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>

#include <canopy/client.h>

namespace {

int failures = 0;

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::cerr << __FILE__ << ":" << __LINE__ << ": check failed: " #cond "\n";     \
      ++failures;                                                                    \
      return;                                                                        \
    }                                                                                \
  } while (0)
#define CHECK_OK(st)                                                                                  \
  do {                                                                                                \
    grpc::Status s_ = (st);                                                                           \
    if (!s_.ok()) {                                                                                   \
      std::cerr << __FILE__ << ":" << __LINE__ << ": " #st ": " << s_.error_code() << ": "            \
                << s_.error_message() << "\n";                                                        \
      ++failures;                                                                                     \
      return;                                                                                         \
    }                                                                                                 \
  } while (0)

std::string Unique(const std::string& prefix) {
  std::random_device rd;
  return prefix + "-" + std::to_string(rd() % 1000000);
}

struct Ctx : grpc::ClientContext {
  explicit Ctx(int seconds = 60) { set_deadline(canopy::Deadline(std::chrono::seconds(seconds))); }
};

void Servers(canopy::Client& c) {
  const auto name = Unique("cpp-srv");
  canopy::v1::CreateServerRequest req;
  req.set_name(name);
  req.set_flavor("m1.tiny");
  req.set_image("cirros-0.6.2");
  req.mutable_location()->set_cloud("local");
  req.set_wait(true);
  canopy::v1::Server sv;
  {
    Ctx ctx;
    CHECK_OK(c.compute->CreateServer(&ctx, req, &sv));
  }
  CHECK(sv.status() == canopy::v1::STATUS_ACTIVE);
  canopy::v1::GetServerRequest get;
  get.set_id(sv.id());
  canopy::v1::Server got;
  {
    Ctx ctx;
    CHECK_OK(c.compute->GetServer(&ctx, get, &got));
  }
  CHECK(got.name() == name);
  canopy::v1::ListServersRequest list;
  list.set_name(name);
  canopy::v1::ListServersResponse servers;
  {
    Ctx ctx;
    CHECK_OK(c.compute->ListServers(&ctx, list, &servers));
  }
  CHECK(servers.servers_size() == 1);
  canopy::v1::DeleteServerRequest del;
  del.set_id(sv.id());
  del.set_wait(true);
  {
    Ctx ctx;
    canopy::v1::Server gone;
    CHECK_OK(c.compute->DeleteServer(&ctx, del, &gone));
  }
  Ctx ctx;
  grpc::Status st = c.compute->GetServer(&ctx, get, &got);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(!st.error_details().empty());  // a google.rpc.Status with ResourceInfo
}

void Volumes(canopy::Client& c) {
  canopy::v1::CreateVolumeRequest req;
  req.set_name(Unique("cpp-vol"));
  req.set_size_gib(1);
  req.mutable_location()->set_cloud("local");
  canopy::v1::Operation op;
  {
    Ctx ctx;
    CHECK_OK(c.volumes->CreateVolume(&ctx, req, &op));
  }
  CHECK_OK(c.Wait(&op));
  CHECK(op.done() && op.has_response());
  canopy::v1::Volume vol;
  CHECK(op.response().UnpackTo(&vol));
  CHECK(vol.size_gib() == 1 && vol.status() == canopy::v1::STATUS_ACTIVE);
  canopy::v1::DeleteVolumeRequest del;
  del.set_id(vol.id());
  {
    Ctx ctx;
    CHECK_OK(c.volumes->DeleteVolume(&ctx, del, &op));
  }
  CHECK_OK(c.Wait(&op));
  CHECK(op.done() && !op.has_error());
  // Bad input: INVALID_ARGUMENT naming the field.
  req.set_size_gib(-1);
  Ctx ctx;
  grpc::Status st = c.volumes->CreateVolume(&ctx, req, &op);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message().find("size_gib") != std::string::npos);
}

void Objects(canopy::Client& c) {
  const auto bucket = Unique("cpp-bucket");
  canopy::v1::CreateBucketRequest breq;
  breq.set_name(bucket);
  breq.mutable_location()->set_cloud("local");
  canopy::v1::Bucket b;
  {
    Ctx ctx;
    CHECK_OK(c.objects->CreateBucket(&ctx, breq, &b));
  }
  // 3 MiB + a bit, streamed in 1 MiB chunks.
  std::string data(3 * (1 << 20) + 17, '\0');
  std::mt19937 rng(42);
  for (auto& ch : data) ch = static_cast<char>(rng());
  canopy::v1::Object obj;
  {
    Ctx ctx;
    auto w = c.objects->UploadObject(&ctx, &obj);
    canopy::v1::UploadObjectRequest hdr;
    hdr.mutable_header()->set_bucket(bucket);
    hdr.mutable_header()->set_key("blob.bin");
    hdr.mutable_header()->set_size_bytes(data.size());
    CHECK(w->Write(hdr));
    for (size_t off = 0; off < data.size(); off += 1 << 20) {
      canopy::v1::UploadObjectRequest chunk;
      chunk.set_chunk(data.substr(off, 1 << 20));
      CHECK(w->Write(chunk));
    }
    CHECK(w->WritesDone());
    CHECK_OK(w->Finish());
  }
  CHECK(obj.size_bytes() == static_cast<int64_t>(data.size()));
  std::string got;
  {
    Ctx ctx;
    canopy::v1::DownloadObjectRequest dreq;
    dreq.set_bucket(bucket);
    dreq.set_key("blob.bin");
    auto r = c.objects->DownloadObject(&ctx, dreq);
    canopy::v1::DownloadObjectResponse msg;
    bool meta = false;
    while (r->Read(&msg)) {
      if (msg.has_object()) meta = true;
      if (msg.data_case() == canopy::v1::DownloadObjectResponse::kChunk) got += msg.chunk();
    }
    CHECK_OK(r->Finish());
    CHECK(meta);
  }
  CHECK(got == data);
  {
    Ctx ctx;
    canopy::v1::DeleteObjectRequest del;
    del.set_bucket(bucket);
    del.set_key("blob.bin");
    canopy::v1::DeleteObjectResponse resp;
    CHECK_OK(c.objects->DeleteObject(&ctx, del, &resp));
  }
  Ctx ctx;
  canopy::v1::DeleteBucketRequest del;
  del.set_id(b.id());
  canopy::v1::DeleteBucketResponse resp;
  CHECK_OK(c.objects->DeleteBucket(&ctx, del, &resp));
}

void Profiles(canopy::Client& c);

void Auth(canopy::Client& c) {
  for (int i = 0; i < 3; ++i) {
    Ctx ctx;
    canopy::v1::ListFlavorsResponse resp;
    CHECK_OK(c.compute->ListFlavors(&ctx, canopy::v1::ListFlavorsRequest(), &resp));
  }
  if (!std::getenv("CANOPY_TOKEN") || !*std::getenv("CANOPY_TOKEN")) {
    CHECK(c.tokens && c.tokens->fetches() == 1);  // one token, reused
  }
  canopy::Options o;
  o.address = c.address;
  o.token = "not-a-token";
  auto bad = canopy::Client::Dial(o);
  Ctx ctx;
  canopy::v1::ListFlavorsResponse resp;
  CHECK(bad.compute->ListFlavors(&ctx, canopy::v1::ListFlavorsRequest(), &resp).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  bool refused = false;
  try {
    o.address = "canopy.example.com:8470";
    canopy::Client::Dial(o);
  } catch (const std::runtime_error&) {
    refused = true;
  }
  CHECK(refused);  // no token in plaintext off loopback
  Profiles(c);
}

// Profiles: a credentials file as `canopy login --profile` writes it —
// the default profile at the top level, named ones under "profiles" —
// whose default holds a client canopyd does not know and whose "ops"
// profile the real one; strings that look like keys must not confuse it.
void Profiles(canopy::Client& c) {
  const char* path = std::getenv("CANOPY_CREDENTIALS");
  if (!path || !*path || (std::getenv("CANOPY_TOKEN") && *std::getenv("CANOPY_TOKEN"))) {
    std::cerr << "profiles: skipped, the run authenticates with CANOPY_TOKEN, not a credentials file\n";
    return;
  }
  auto real = canopy::Credentials::FromFile(path, "default");
  const std::string file = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/" + Unique("cpp-profiles") + ".json";
  {
    std::ofstream f(file);
    f << "{\"client_id\": \"cnp-unknown\", \"client_secret\": \"say \\\"profiles\\\": {}\", \"token_url\": \""
      << real.token_url << "\",\n \"profiles\": {\"other\": {\"client_id\": \"ops\", \"client_secret\": \"x\", \"token_url\": \"http://x\"},\n"
      << "  \"ops\": {\"client_id\": \"" << real.client_id << "\", \"client_secret\": \"" << real.client_secret
      << "\", \"token_url\": \"" << real.token_url << "\"}}}\n";
  }
  auto def = canopy::Credentials::FromFile(file, "default");
  CHECK(def.client_id == "cnp-unknown");
  CHECK(def.client_secret == "say \"profiles\": {}");
  auto ops = canopy::Credentials::FromFile(file, "ops");
  CHECK(ops.client_id == real.client_id && ops.client_secret == real.client_secret);
  CHECK(canopy::Credentials::FromFile(file, "other").client_id == "ops");
  bool missing = false;
  try {
    canopy::Credentials::FromFile(file, "nope");
  } catch (const std::runtime_error& e) {
    missing = std::string(e.what()).find("no profile \"nope\"") != std::string::npos;
  }
  CHECK(missing);
  canopy::Options o;
  o.address = c.address;
  o.credentials_file = file;
  o.profile = "ops";
  auto viaOps = canopy::Client::Dial(o);
  {
    Ctx ctx;
    canopy::v1::ListFlavorsResponse resp;
    CHECK_OK(viaOps.compute->ListFlavors(&ctx, canopy::v1::ListFlavorsRequest(), &resp));
  }
  o.profile = "default";
  auto viaDefault = canopy::Client::Dial(o);
  {
    // The token endpoint refuses the unknown client: the call fails
    // before it is sent, with the endpoint's answer.
    Ctx ctx;
    canopy::v1::ListFlavorsResponse resp;
    auto st = viaDefault.compute->ListFlavors(&ctx, canopy::v1::ListFlavorsRequest(), &resp);
    if (st.ok() || st.error_message().find("token") == std::string::npos) {
      std::cerr << "default profile: want a refused token, got " << st.error_code() << ": " << st.error_message() << "\n";
    }
    CHECK(!st.ok() && st.error_message().find("token") != std::string::npos);
  }
  std::remove(file.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: canopy-cpp-tests servers|volumes|objects|auth\n";
    return 2;
  }
  const std::string what = argv[1];
  try {
    auto c = canopy::Client::FromEnv();
    if (what == "servers") Servers(c);
    else if (what == "volumes") Volumes(c);
    else if (what == "objects") Objects(c);
    else if (what == "auth") Auth(c);
    else {
      std::cerr << "unknown test " << what << "\n";
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << what << ": " << e.what() << "\n";
    return 1;
  }
  if (failures == 0) std::cout << what << ": ok\n";
  return failures == 0 ? 0 : 1;
}
