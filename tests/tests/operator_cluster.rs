//! The operator running real clusters on the real control plane: broker
//! pods are `weir-broker` processes run by the kubelet stand-in, clients
//! reach them by their Kubernetes DNS names, and every scenario keeps an
//! idempotent acks=all producer and a consumer running throughout, then
//! counts acknowledged, lost and duplicated records.

use std::time::Duration;

use rdkafka::admin::{AdminOptions, ConfigSource, ResourceSpecifier};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use weir_e2e::cluster::{admin, block_on, create_topic};
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
        create_topic(&bootstrap(cluster), topic, partitions, rf, &[]);
        Traffic::on(cluster, topic, partitions)
    }

    /// Traffic on a topic that exists already.
    fn on(cluster: &str, topic: &str, partitions: i32) -> Traffic {
        let bootstrap = bootstrap(cluster);
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

/// Replicas of every partition of `topic`, as a client sees them; `None`
/// when the metadata cannot be read or does not list exactly `partitions`
/// partitions, so a failed call never passes for an empty topic.
fn replicas(bootstrap: &str, topic: &str, partitions: usize) -> Option<Vec<Vec<i32>>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("metadata client");
    let md = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .ok()?;
    let mut out: Vec<(i32, Vec<i32>)> = md
        .topics()
        .iter()
        .flat_map(|t| {
            t.partitions()
                .iter()
                .map(|p| (p.id(), p.replicas().to_vec()))
        })
        .collect();
    out.sort();
    (out.len() == partitions).then(|| out.into_iter().map(|(_, r)| r).collect())
}

/// [`replicas`], failing the test when the metadata cannot be read.
fn replicas_now(bootstrap: &str, topic: &str, partitions: usize) -> Vec<Vec<i32>> {
    replicas(bootstrap, topic, partitions)
        .unwrap_or_else(|| panic!("no metadata listing the {partitions} partitions of {topic}"))
}

/// How many of `cluster`'s first `brokers` broker pods are missing or not
/// Ready right now.
fn brokers_down(env: &KubeEnv, cluster: &str, brokers: usize) -> usize {
    let Some(pods) = env.get("pods") else {
        return 0;
    };
    let ready = (0..brokers)
        .filter(|i| {
            let name = format!("{cluster}-broker-{i}");
            pods["items"].as_array().is_some_and(|items| {
                items.iter().any(|p| {
                    p["metadata"]["name"] == name.as_str()
                        && p["metadata"]["deletionTimestamp"].is_null()
                        && p["status"]["conditions"].as_array().is_some_and(|cs| {
                            cs.iter()
                                .any(|c| c["type"] == "Ready" && c["status"] == "True")
                        })
                })
            })
        })
        .count();
    brokers - ready
}

fn ids(value: &serde_json::Value) -> Vec<i64> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
        .unwrap_or_default()
}

fn set_replicas(env: &KubeEnv, cluster: &str, replicas: i32) {
    env.kubectl_ok(&[
        "patch",
        "kafkacluster",
        cluster,
        "-n",
        NS,
        "--type=merge",
        "-p",
        &format!("{{\"spec\":{{\"replicas\":{replicas}}}}}"),
    ]);
}

fn operation_phase(c: &serde_json::Value) -> String {
    c["status"]["operation"]["phase"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn installed_from_the_chart_three_brokers_form_one_cluster_and_outlive_the_operator() {
    let Some(mut env) = KubeEnv::start_or_skip(NS) else {
        return;
    };
    env.install_chart_and_start_operator();
    env.apply(&cluster_yaml("demo", 3, "0.1.0", &[]));
    let status = ready(&env, "demo", Duration::from_secs(180));
    println!(
        "{}",
        serde_json::to_string_pretty(&status["status"]).unwrap_or_default()
    );
    assert_eq!(ids(&status["status"]["quorumVoters"]), vec![0, 1, 2]);
    assert_eq!(ids(&status["status"]["liveBrokers"]), vec![0, 1, 2]);
    assert!(status["status"]["controller"]
        .as_i64()
        .is_some_and(|c| (0..3).contains(&c)));
    assert_eq!(status["status"]["underReplicatedPartitions"], 0);
    let columns = env.kubectl_ok(&["get", "kafkacluster", "demo", "-n", NS]);
    assert!(
        columns.contains("CONTROLLER") && columns.contains("URP"),
        "{columns}"
    );

    let traffic = Traffic::start("demo", "orders", 6, 3);
    std::thread::sleep(Duration::from_secs(5));
    // Every partition is replicated over the three brokers of one cluster.
    for r in replicas_now(&bootstrap("demo"), "orders", 6) {
        let mut r = r.clone();
        r.sort_unstable();
        assert_eq!(r, vec![0, 1, 2]);
    }
    // The operator going away, even with the API server hung, leaves the
    // brokers serving.
    let apiserver = env.plane.apiserver_pid().to_string();
    let paused = std::process::Command::new("kill")
        .args(["-STOP", &apiserver])
        .status();
    assert!(paused.is_ok_and(|s| s.success()));
    let exit = env.operator.as_mut().map(|o| o.terminate_and_wait());
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &apiserver])
        .status();
    assert!(
        exit.is_some_and(|s| s.success()),
        "{}",
        env.operator_log_tail()
    );
    std::thread::sleep(Duration::from_secs(5));
    traffic.finish();
}

#[test]
fn scaling_up_rebalances_onto_new_brokers_and_scaling_down_drains_them_first() {
    let Some(mut env) = KubeEnv::start_or_skip(NS) else {
        return;
    };
    env.start_operator();
    env.apply(&cluster_yaml("demo", 3, "0.1.0", &[]));
    ready(&env, "demo", Duration::from_secs(180));
    let traffic = Traffic::start("demo", "orders", 10, 3);
    std::thread::sleep(Duration::from_secs(3));

    // 3 → 5: the new brokers join and get a fair share of the replicas.
    set_replicas(&env, "demo", 5);
    let holds_share = |broker: i32| {
        replicas(&bootstrap("demo"), "orders", 10)
            .is_some_and(|rs| rs.iter().filter(|r| r.contains(&broker)).count() >= 4)
    };
    let scaled = env.wait_for("kafkacluster/demo", Duration::from_secs(300), |c| {
        KubeEnv::is_true(c, "Ready")
            && ids(&c["status"]["liveBrokers"]).len() == 5
            && c["status"]["operation"].is_null()
            && holds_share(3)
            && holds_share(4)
    });
    println!(
        "scaled up: {}",
        serde_json::to_string_pretty(&scaled["status"]).unwrap_or_default()
    );
    let after_up = replicas_now(&bootstrap("demo"), "orders", 10);
    for new in [3, 4] {
        let held = after_up.iter().filter(|r| r.contains(&new)).count();
        assert!(
            held >= 4,
            "broker {new} holds {held} of 30 replicas: {after_up:?}"
        );
    }
    let events = env.events();
    assert!(events.iter().any(|(r, _)| r == "Rebalancing"), "{events:?}");

    // A topic with replication factor 4 cannot live on 3 brokers: the
    // scale-down is refused, nothing moves, the cluster keeps running.
    create_topic(&bootstrap("demo"), "wide", 2, 4, &[]);
    set_replicas(&env, "demo", 3);
    let refused = env.wait_for("kafkacluster/demo", Duration::from_secs(120), |c| {
        KubeEnv::condition(c, "Degraded")
            .is_some_and(|(s, r, _)| s == "True" && r == "ScaleDownRefused")
    });
    let (_, _, why) = KubeEnv::condition(&refused, "Degraded").unwrap_or_default();
    assert!(
        why.contains("wide") && why.contains("replication factor 4"),
        "{why}"
    );
    assert_eq!(ids(&refused["status"]["liveBrokers"]).len(), 5);
    let sts = env.get("statefulset/demo-broker").expect("statefulset");
    assert_eq!(
        sts["spec"]["replicas"], 5,
        "a refused scale-down changes nothing"
    );

    // Without it, 5 → 3 drains brokers 3 and 4; the operator is killed in
    // the middle and its successor carries on from what it observes.
    let admin = weir_e2e::cluster::admin(&bootstrap("demo"));
    let deleted = weir_e2e::cluster::block_on(
        admin.delete_topics(&["wide"], &rdkafka::admin::AdminOptions::new()),
    );
    assert!(deleted.is_ok());
    env.wait_for("kafkacluster/demo", Duration::from_secs(120), |c| {
        c["status"]["operation"]["kind"] == "ScaleDown" && operation_phase(c) != "Refused"
    });
    env.restart_operator();
    let shrunk = env.wait_for("kafkacluster/demo", Duration::from_secs(300), |c| {
        KubeEnv::is_true(c, "Ready")
            && ids(&c["status"]["liveBrokers"]) == vec![0, 1, 2]
            && c["status"]["operation"].is_null()
    });
    println!(
        "scaled down: {}",
        serde_json::to_string_pretty(&shrunk["status"]).unwrap_or_default()
    );
    for r in replicas_now(&bootstrap("demo"), "orders", 10) {
        assert!(r.iter().all(|b| *b < 3), "{r:?}");
    }
    assert!(env.get("pod/demo-broker-4").is_none() && env.get("pod/demo-broker-3").is_none());
    // deleteClaim: the removed brokers' claims go with them.
    let claims_gone = (0..60).any(|_| {
        std::thread::sleep(Duration::from_secs(1));
        env.get("pvc/data-demo-broker-4").is_none()
    });
    assert!(
        claims_gone,
        "the removed broker's claim follows deleteClaim"
    );
    let events = env.events();
    assert!(
        events.iter().any(|(r, _)| r == "UnregisteredBroker"),
        "{events:?}"
    );
    traffic.finish();
}

#[test]
fn versions_and_static_configs_roll_one_broker_at_a_time_controller_last_and_live_configs_roll_nothing(
) {
    let Some(mut env) = KubeEnv::start_or_skip(NS) else {
        return;
    };
    env.start_operator();
    env.apply(&cluster_yaml("demo", 3, "0.1.0", &[]));
    let before = ready(&env, "demo", Duration::from_secs(180));
    let controller = before["status"]["controller"].as_i64().unwrap_or(-1);
    let traffic = Traffic::start("demo", "orders", 6, 3);
    std::thread::sleep(Duration::from_secs(3));

    env.apply(&cluster_yaml("demo", 3, "0.2.0", &[]));
    // Sampled on every poll of the roll: the most broker pods down at once.
    let most_down = std::cell::Cell::new(0);
    let rolled = env.wait_for("kafkacluster/demo", Duration::from_secs(400), |c| {
        most_down.set(most_down.get().max(brokers_down(&env, "demo", 3)));
        KubeEnv::is_true(c, "Ready") && c["status"]["version"] == "0.2.0"
    });
    assert_eq!(
        most_down.get(),
        1,
        "one broker at a time is down during the roll (and the sampling saw one)"
    );
    println!(
        "rolled: {}",
        serde_json::to_string_pretty(&rolled["status"]).unwrap_or_default()
    );
    let restarts: Vec<String> = env
        .events()
        .into_iter()
        .filter(|(r, _)| r == "RestartingBroker")
        .map(|(_, m)| m)
        .collect();
    assert_eq!(restarts.len(), 3, "{restarts:?}");
    assert!(
        restarts
            .iter()
            .all(|m| m.contains("0.1.0") && m.contains("0.2.0")),
        "{restarts:?}"
    );
    assert!(
        restarts[2].contains(&format!("demo-broker-{controller}")),
        "the controller ({controller}) restarts last: {restarts:?}"
    );

    // What Kafka changes live is applied through the admin API: no restart.
    let retention = ("log.retention.ms", "86400000");
    env.apply(&cluster_yaml("demo", 3, "0.2.0", &[retention]));
    let updated = |env: &KubeEnv| {
        env.events()
            .iter()
            .any(|(r, m)| r == "ConfigUpdated" && m.contains("log.retention.ms=86400000"))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !updated(&env)
        || topic_config(&bootstrap("demo"), "orders", "retention.ms")
            != Some(("86400000".to_string(), true))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the retention never reached the topic: {:?}\nevents: {:?}\n{}",
            topic_config(&bootstrap("demo"), "orders", "retention.ms"),
            env.events(),
            env.operator_log_tail()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let restarts_so_far = restarts.len();

    // A static key needs a restart of every broker.
    env.apply(&cluster_yaml(
        "demo",
        3,
        "0.2.0",
        &[retention, ("num.partitions", "4")],
    ));
    env.wait_for("kafkacluster/demo", Duration::from_secs(400), |c| {
        KubeEnv::is_true(c, "Ready") && c["status"]["operation"].is_null()
    });
    let restarts: Vec<String> = env
        .events()
        .into_iter()
        .filter(|(r, _)| r == "RestartingBroker")
        .map(|(_, m)| m)
        .collect();
    let config_restarts = restarts
        .iter()
        .filter(|m| m.contains("configuration"))
        .count();
    assert_eq!(config_restarts, 3, "{restarts:?}");
    assert_eq!(restarts.len(), restarts_so_far + 3, "{restarts:?}");

    // The restart annotation restarts every broker once more.
    env.kubectl_ok(&[
        "annotate",
        "-n",
        NS,
        "kafkacluster/demo",
        "weir.dev/restart=e2e-1",
        "--overwrite",
    ]);
    let requested = |env: &KubeEnv| {
        env.events()
            .iter()
            .filter(|(r, m)| r == "RestartingBroker" && m.contains("weir.dev/restart=e2e-1"))
            .count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    while requested(&env) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the restart request was not carried out: {:?}",
            env.events()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    env.wait_for("kafkacluster/demo", Duration::from_secs(300), |c| {
        KubeEnv::is_true(c, "Ready") && c["status"]["operation"].is_null()
    });
    assert_eq!(requested(&env), 3);
    traffic.finish();
}

/// A topic config's value and whether it comes from the cluster-wide
/// dynamic default, as the brokers describe it.
fn topic_config(bootstrap: &str, topic: &str, key: &str) -> Option<(String, bool)> {
    block_on(async {
        let described = admin(bootstrap)
            .describe_configs(&[ResourceSpecifier::Topic(topic)], &AdminOptions::new())
            .await
            .ok()?;
        let resource = described.into_iter().next()?.ok()?;
        let entry = resource.get(key)?;
        Some((
            entry.value.clone()?,
            matches!(entry.source, ConfigSource::DynamicDefaultBroker),
        ))
    })
}

fn topic_yaml(rf: i32) -> String {
    format!(
        "apiVersion: weir.dev/v1alpha1
kind: KafkaTopic
metadata:
  name: events
spec:
  clusterRef: demo
  partitions: 4
  replicationFactor: {rf}
"
    )
}

#[test]
fn a_kafka_topic_changes_its_replication_factor_by_reassignment() {
    let Some(mut env) = KubeEnv::start_or_skip(NS) else {
        return;
    };
    env.start_operator();
    env.apply(&cluster_yaml(
        "demo",
        3,
        "0.1.0",
        &[("min.insync.replicas", "1")],
    ));
    ready(&env, "demo", Duration::from_secs(180));
    env.apply(&topic_yaml(2));
    env.wait_for("kafkatopic/events", Duration::from_secs(120), |t| {
        KubeEnv::is_true(t, "Ready")
    });
    let traffic = Traffic::on("demo", "events", 4);
    std::thread::sleep(Duration::from_secs(3));

    env.apply(&topic_yaml(3));
    let grown = env.wait_for("kafkatopic/events", Duration::from_secs(240), |t| {
        KubeEnv::is_true(t, "Ready")
            && replicas(&bootstrap("demo"), "events", 4)
                .is_some_and(|rs| rs.iter().all(|r| r.len() == 3))
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&grown["status"]).unwrap_or_default()
    );
    std::thread::sleep(Duration::from_secs(3));

    env.apply(&topic_yaml(2));
    env.wait_for("kafkatopic/events", Duration::from_secs(240), |t| {
        KubeEnv::is_true(t, "Ready")
            && replicas(&bootstrap("demo"), "events", 4)
                .is_some_and(|rs| rs.iter().all(|r| r.len() == 2))
    });
    traffic.finish();
}
