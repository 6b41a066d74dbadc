//! The operator running real clusters on the real control plane: broker
//! pods are `weir-broker` processes run by the kubelet stand-in, clients
//! reach them by their Kubernetes DNS names, and every scenario keeps an
//! idempotent acks=all producer and a consumer running throughout, then
//! counts acknowledged, lost and duplicated records.

use std::time::Duration;

use weir_e2e::cluster::create_topic;
use weir_e2e::operator::{cluster_yaml, KubeEnv};
use weir_e2e::workload::{assert_nothing_lost, verify, Tail, Workload};

const NS: &str = "kafka";

fn bootstrap(cluster: &str) -> String {
    format!("{cluster}-bootstrap.{NS}.svc:9092")
}

/// An operator-run cluster with traffic: the producer and the consumer
/// run from `start` to `finish`.
struct Traffic {
    workload: Workload,
    tail: Tail,
    bootstrap: String,
    topic: String,
    partitions: i32,
}

impl Traffic {
    fn start(cluster: &str, topic: &str, partitions: i32, rf: i32) -> Traffic {
        let bootstrap = bootstrap(cluster);
        create_topic(&bootstrap, topic, partitions, rf, &[]);
        let workload = Workload::start(&bootstrap, topic, partitions, Duration::from_millis(5));
        let tail = Tail::start(&bootstrap, &format!("{topic}-readers"), topic);
        Traffic {
            workload,
            tail,
            bootstrap,
            topic: topic.to_string(),
            partitions,
        }
    }

    fn finish(self) {
        let outcome = self.workload.finish();
        let missed = self.tail.finish(&outcome, Duration::from_secs(60));
        let verdict = verify(
            &self.bootstrap,
            &self.topic,
            self.partitions,
            &outcome,
            Duration::from_secs(60),
        );
        assert_nothing_lost(&verdict);
        assert_eq!(missed, 0, "the consumer missed acknowledged records");
    }
}

fn ready(env: &KubeEnv, cluster: &str, within: Duration) -> serde_json::Value {
    env.wait_for(&format!("kafkacluster/{cluster}"), within, |c| {
        KubeEnv::is_true(c, "Ready")
    })
}

#[test]
fn three_brokers_form_one_cluster_that_serves_clients() {
    let Some(mut env) = KubeEnv::start_or_skip(NS) else {
        return;
    };
    env.start_operator(None);
    env.apply(&cluster_yaml("demo", 3, "0.1.0", &[]));
    let status = ready(&env, "demo", Duration::from_secs(180));
    println!(
        "{}",
        serde_json::to_string_pretty(&status["status"]).unwrap_or_default()
    );
    let traffic = Traffic::start("demo", "orders", 6, 3);
    std::thread::sleep(Duration::from_secs(10));
    traffic.finish();
}
