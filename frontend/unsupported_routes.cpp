// dockerd's routes that dockerbox does not serve, answered 501 with what is missing and
// why. A bare 404 would mislead: the Debian 20.10 CLI turns a 404 on a container route into
// "No such container". Runs in: a frontend worker. Data only.
//
// Not here, because `docker inspect NAME` falls through them on 404 and must keep doing so:
// GET /images/{name}/json, /networks/{id}, /volumes/{name} and /plugins/{name}/json
// (router.cpp, local_routes.cpp).
#include "frontend/router.hpp"

namespace dockerbox::frontend {

const std::vector<UnsupportedRoute>& unsupportedRouteTable() {
  static constexpr std::string_view kNoSnapshots = "miniboxd cannot read or change a container's filesystem from outside";
  static constexpr std::string_view kNoStats = "miniboxd reports no process or resource statistics";
  static constexpr std::string_view kNoNetworks = "miniboxd has no user-defined networks";
  static constexpr std::string_view kNoVolumes = "only cluster volumes can be updated, and dockerbox has none";
  static constexpr std::string_view kNoBuild = "miniboxd cannot build images";
  static constexpr std::string_view kNoRegistry = "miniboxd cannot push, and dockerbox cannot search registries yet";
  static constexpr std::string_view kNoPlugins = "there are no engine plugins";
  static constexpr std::string_view kNoSwarm = "there is no swarm mode";
  static constexpr std::string_view kNoImageFiles = "miniboxd cannot export or import image archives";
  static const std::vector<UnsupportedRoute> kRoutes{
      // Containers.
      {Method::Get, "/containers/{id}/top", "docker top", kNoStats},
      {Method::Get, "/containers/{id}/stats", "docker stats", kNoStats},
      {Method::Get, "/containers/{id}/changes", "docker diff", kNoSnapshots},
      {Method::Get, "/containers/{id}/export", "docker export", kNoSnapshots},
      {Method::Head, "/containers/{id}/archive", "docker cp", kNoSnapshots},
      {Method::Get, "/containers/{id}/archive", "docker cp", kNoSnapshots},
      {Method::Put, "/containers/{id}/archive", "docker cp", kNoSnapshots},
      {Method::Post, "/containers/{id}/update", "docker update", "miniboxd cannot change a running container's limits"},
      {Method::Get, "/containers/{id}/attach/ws", "attaching over a websocket", "use the hijacked POST /attach"},
      {Method::Post, "/containers/prune", "docker container prune", "remove containers one by one with docker rm"},
      {Method::Post, "/commit", "docker commit", kNoSnapshots},
      // Images.
      {Method::Post, "/build", "docker build", kNoBuild},
      {Method::Post, "/build/prune", "docker builder prune", kNoBuild},
      {Method::Post, "/build/cancel", "docker build", kNoBuild},
      {Method::Post, "/session", "BuildKit", kNoBuild},
      {Method::Post, "/grpc", "BuildKit", kNoBuild},
      {Method::Get, "/images/{name*}/history", "docker history", "miniboxd keeps no image history"},
      {Method::Post, "/images/{name*}/push", "docker push", kNoRegistry},
      {Method::Post, "/images/{name*}/tag", "docker tag", "miniboxd cannot tag images"},
      {Method::Get, "/images/search", "docker search", kNoRegistry},
      {Method::Post, "/images/prune", "docker image prune", "remove images one by one with docker rmi"},
      {Method::Get, "/images/{name*}/get", "docker save", kNoImageFiles},
      {Method::Get, "/images/get", "docker save", kNoImageFiles},
      {Method::Post, "/images/load", "docker load", kNoImageFiles},
      {Method::Get, "/distribution/{name*}/json", "registry lookups", kNoRegistry},
      // System.
      {Method::Get, "/system/df", "docker system df", "miniboxd reports no disk usage"},
      // Volumes.
      {Method::Put, "/volumes/{name}", "updating volumes", kNoVolumes},
      // Networks (GET /networks and /networks/{id} show the three built-in ones).
      {Method::Post, "/networks/create", "docker network create", kNoNetworks},
      {Method::Delete, "/networks/{id}", "docker network rm", kNoNetworks},
      {Method::Post, "/networks/{id}/connect", "docker network connect", kNoNetworks},
      {Method::Post, "/networks/{id}/disconnect", "docker network disconnect", kNoNetworks},
      {Method::Post, "/networks/prune", "docker network prune", kNoNetworks},
      // Plugins.
      {Method::Get, "/plugins", "docker plugin ls", kNoPlugins},
      {Method::Get, "/plugins/privileges", "docker plugin install", kNoPlugins},
      {Method::Post, "/plugins/pull", "docker plugin install", kNoPlugins},
      {Method::Post, "/plugins/create", "docker plugin create", kNoPlugins},
      {Method::Delete, "/plugins/{name*}", "docker plugin rm", kNoPlugins},
      {Method::Post, "/plugins/{name*}/enable", "docker plugin enable", kNoPlugins},
      {Method::Post, "/plugins/{name*}/disable", "docker plugin disable", kNoPlugins},
      {Method::Post, "/plugins/{name*}/upgrade", "docker plugin upgrade", kNoPlugins},
      {Method::Post, "/plugins/{name*}/push", "docker plugin push", kNoPlugins},
      {Method::Post, "/plugins/{name*}/set", "docker plugin set", kNoPlugins},
      // Swarm.
      {Method::Get, "/swarm", "swarm mode", kNoSwarm},
      {Method::Post, "/swarm/init", "docker swarm init", kNoSwarm},
      {Method::Post, "/swarm/join", "docker swarm join", kNoSwarm},
      {Method::Post, "/swarm/leave", "docker swarm leave", kNoSwarm},
      {Method::Post, "/swarm/update", "docker swarm update", kNoSwarm},
      {Method::Get, "/swarm/unlockkey", "docker swarm unlock-key", kNoSwarm},
      {Method::Post, "/swarm/unlock", "docker swarm unlock", kNoSwarm},
      {Method::Get, "/nodes", "docker node", kNoSwarm},
      {Method::Get, "/nodes/{id}", "docker node", kNoSwarm},
      {Method::Delete, "/nodes/{id}", "docker node", kNoSwarm},
      {Method::Post, "/nodes/{id}/update", "docker node", kNoSwarm},
      {Method::Get, "/services", "docker service", kNoSwarm},
      {Method::Post, "/services/create", "docker service", kNoSwarm},
      {Method::Get, "/services/{id}", "docker service", kNoSwarm},
      {Method::Delete, "/services/{id}", "docker service", kNoSwarm},
      {Method::Post, "/services/{id}/update", "docker service", kNoSwarm},
      {Method::Get, "/services/{id}/logs", "docker service", kNoSwarm},
      {Method::Get, "/tasks", "docker service ps", kNoSwarm},
      {Method::Get, "/tasks/{id}", "docker service ps", kNoSwarm},
      {Method::Get, "/tasks/{id}/logs", "docker service logs", kNoSwarm},
      {Method::Get, "/secrets", "docker secret", kNoSwarm},
      {Method::Post, "/secrets/create", "docker secret", kNoSwarm},
      {Method::Get, "/secrets/{id}", "docker secret", kNoSwarm},
      {Method::Delete, "/secrets/{id}", "docker secret", kNoSwarm},
      {Method::Post, "/secrets/{id}/update", "docker secret", kNoSwarm},
      {Method::Get, "/configs", "docker config", kNoSwarm},
      {Method::Post, "/configs/create", "docker config", kNoSwarm},
      {Method::Get, "/configs/{id}", "docker config", kNoSwarm},
      {Method::Delete, "/configs/{id}", "docker config", kNoSwarm},
      {Method::Post, "/configs/{id}/update", "docker config", kNoSwarm},
  };
  return kRoutes;
}

}  // namespace dockerbox::frontend
