// The Proxmox VE response decoders (plugins/proxmox/pve_api.*): what a PVE
// server answers. Byte 0 picks the request whose answer the rest is, and the
// path through the decoders proxmox.so takes with it:
//   '0' GET /nodes/{node}/lxc and /cluster/resources: the envelope's data as
//       a list of guests (guest_from, container_of for each);
//   '1' GET .../status/current: one guest;
//   '2' GET .../config (inspect): the guest's config into container_of;
//   '3' GET /nodes/{node}/tasks/{upid}/status: task_done;
//   '4' an error answer: bytes 1-2 the status, the first line the reason
//       phrase, the rest the body (decode_response, code_for).
// A bad answer is sdk::Error; any other exception escapes and is reported.
// container_of's details_json must be a JSON object.
#include "pve_api.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

using namespace berth::proxmox;

void check(const berth::sdk::Container& c) {
  rapidjson::Document d;
  d.Parse(c.details_json.c_str(), c.details_json.size());
  if (d.HasParseError() || !d.IsObject()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 5;
  std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (mode == 4) {
      if (body.size() < 2) return 0;
      const unsigned status = 100 + (static_cast<uint8_t>(body[0]) << 8 | static_cast<uint8_t>(body[1])) % 500;
      const std::string rest = body.substr(2);
      const size_t nl = rest.find('\n');
      (void)decode_response("GET", "/nodes", status, rest.substr(0, nl),
                            nl == std::string::npos ? "" : rest.substr(nl + 1));
      return 0;
    }
    const auto d = decode_response("GET", "/nodes/pve1/lxc", 200, "OK", body);
    switch (mode) {
      case 0:
        if (!d.IsArray()) return 0;  // proxmox.so: "malformed PVE response"
        for (auto& g : d.GetArray()) {
          const Guest guest = guest_from(g, string_member(g, "node"));
          if (guest.vmid > 0 && !guest.is_template) check(container_of(guest));
        }
        break;
      case 1: check(container_of(guest_from(d, "pve1"))); break;
      case 2: {
        Guest g;
        g.vmid = 101;
        g.node = "pve1";
        g.status = "running";
        check(container_of(g, &d));
        break;
      }
      case 3:
        (void)task_done(d, "UPID:pve1:0001:task");
        if (d.IsString()) (void)node_of_upid(d.GetString());
        break;
    }
  } catch (const berth::sdk::Error&) {
  }
  return 0;
}
