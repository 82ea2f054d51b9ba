//! Signaling at scale: server nodes sharing one Redis act as one server.

use super::redis::Redis;
use super::redis_cluster::RedisCluster;
use super::server::{Server, ServerBuilder};

/// Redis and two server nodes, `node-1` and `node-2`. Dropped nodes first, then Redis.
pub struct Cluster {
    pub nodes: [Server; 2],
    pub redis: Redis,
}

impl Cluster {
    pub fn start() -> Self {
        let redis = Redis::start();
        let nodes = [
            Server::builder().node_of(&redis, "node-1").start(),
            Server::builder().node_of(&redis, "node-2").start(),
        ];
        Self { nodes, redis }
    }

    /// Node `index`'s URL.
    pub fn url(&self, index: usize) -> &str {
        &self.nodes[index].url
    }

    /// One more node of this cluster, to start when the test wants it.
    pub fn another_node(&self, name: &str) -> ServerBuilder {
        Server::builder().node_of(&self.redis, name)
    }
}

impl ServerBuilder {
    /// A node called `name` of the cluster that shares `redis`.
    pub fn node_of(self, redis: &Redis, name: &str) -> Self {
        self.env("REDIS_URL", &redis.url).env("NODE_ID", name)
    }

    /// A node called `name` of the cluster that shares the Redis Cluster `redis`
    /// (sharded pub/sub, the server's default there).
    pub fn node_of_redis_cluster(self, redis: &RedisCluster, name: &str) -> Self {
        self.env("REDIS_CLUSTER_NODES", &redis.seeds)
            .env("NODE_ID", name)
    }
}
