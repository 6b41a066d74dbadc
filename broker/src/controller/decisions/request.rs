//! The requests the controller decides, as values: a broker that is not the
//! controller forwards them (Kafka's request forwarding), and the
//! controller answers each with the records it committed or a rejection.

use std::ops::Range;

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::alter_partition::{alter_partition, IsrChange};
use super::broker_configs::{alter_broker_configs, replace_broker_configs};
use super::brokers::{self, HeartbeatReply};
use super::configs::{alter_topic_configs, replace_topic_configs, AlterOp};
use super::elections::{elect_all, rebalance_leaders, ElectionTarget, ElectionType};
use super::group_configs::{alter_group_configs, GroupConfigBounds};
use super::limits::{check_user_op, excessively_large, MAX_RECORDS_PER_USER_OP};
use super::partitions::create_partitions;
use super::producer_ids::allocate_block;
use super::reassignment::{reassign_all, Move};
use super::topics::{create_topic, delete_topic, NewTopic, TopicDefaults};
use super::Rejection;
use crate::metadata::{BrokerRecord, MetadataImage, MetadataRecord};
use crate::quorum::QuorumStatus;

/// A change only the controller may decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerRequest {
    /// CreateTopics, auto-creation and the internal topics.
    CreateTopic {
        /// The topic.
        topic: NewTopic,
        /// The asking broker's defaults for `-1` counts.
        defaults: TopicDefaults,
        /// Decide but commit nothing.
        validate_only: bool,
        /// An existing topic counts as success (auto-creation).
        if_absent: bool,
    },
    /// DeleteTopics, by name or id.
    DeleteTopic {
        /// The name, if named by name.
        name: Option<String>,
        /// The id, if named by id.
        id: Option<Uuid>,
    },
    /// CreatePartitions.
    CreatePartitions {
        /// The topic.
        topic: String,
        /// The new partition count.
        count: i32,
        /// Replica lists for the new partitions.
        assignments: Option<Vec<Vec<i32>>>,
        /// Decide but commit nothing.
        validate_only: bool,
    },
    /// AlterConfigs on a topic.
    ReplaceTopicConfigs {
        /// The topic.
        topic: String,
        /// The complete set of overrides.
        configs: Vec<(String, Option<String>)>,
        /// Decide but commit nothing.
        validate_only: bool,
    },
    /// IncrementalAlterConfigs on a topic.
    AlterTopicConfigs {
        /// The topic.
        topic: String,
        /// The operations.
        ops: Vec<(String, AlterOp, Option<String>)>,
        /// Decide but commit nothing.
        validate_only: bool,
    },
    /// IncrementalAlterConfigs on a broker ("N") or the cluster default ("").
    AlterBrokerConfigs {
        /// The resource name.
        resource: String,
        /// The operations.
        ops: Vec<(String, AlterOp, Option<String>)>,
        /// Decide but commit nothing.
        validate_only: bool,
    },
    /// IncrementalAlterConfigs on a consumer group.
    AlterGroupConfigs {
        /// The group id.
        group: String,
        /// The operations.
        ops: Vec<(String, AlterOp, Option<String>)>,
        /// The bounds of the broker that took the request.
        bounds: GroupConfigBounds,
        /// Decide but commit nothing.
        validate_only: bool,
    },
    /// AlterConfigs on a broker ("N") or the cluster default ("").
    ReplaceBrokerConfigs {
        /// The resource name.
        resource: String,
        /// The complete set of dynamic configs.
        configs: Vec<(String, Option<String>)>,
        /// Decide but commit nothing.
        validate_only: bool,
    },
    /// UnregisterBroker (KIP-631): forget a stopped broker that holds no
    /// replica.
    UnregisterBroker {
        /// The broker.
        broker_id: i32,
    },
    /// A block of producer ids for a broker.
    AllocateProducerIds {
        /// The broker asking.
        broker_id: i32,
    },
    /// A broker registering (or re-registering with new endpoints), with
    /// the voter ids it was started with: they must be the cluster's, or
    /// the broker would act as a voter the quorum does not know.
    RegisterBroker {
        /// What it registers.
        record: BrokerRecord,
        /// Its `controller.quorum.voters` ids.
        voters: Vec<i32>,
    },
    /// A partition leader changing the ISR (Kafka's AlterPartition).
    AlterPartition(IsrChange),
    /// A broker's heartbeat (Kafka's BrokerHeartbeat), possibly asking for
    /// a controlled shutdown.
    BrokerHeartbeat {
        /// The broker.
        broker_id: i32,
        /// Its incarnation, as registered.
        incarnation: Uuid,
        /// It wants to shut down: hand its leaderships away.
        want_shutdown: bool,
    },
    /// DescribeQuorum: only the controller knows every member's progress.
    DescribeQuorum,
    /// ElectLeaders: preferred or unclean elections, for the partitions
    /// listed or (`None`) every partition.
    ElectLeaders {
        /// Preferred or unclean.
        kind: ElectionType,
        /// The partitions, or all.
        targets: Option<Vec<ElectionTarget>>,
    },
    /// The controller's periodic preferred-leader balancing.
    BalanceLeaders {
        /// `leader.imbalance.per.broker.percentage`.
        imbalance_percent: u32,
    },
    /// AlterPartitionReassignments: start, replace or cancel moves.
    ReassignPartitions {
        /// One entry per partition.
        moves: Vec<Move>,
        /// Whether a target may have another size (KIP-860).
        allow_rf_change: bool,
    },
    /// The controller fences a broker whose session expired. Only the
    /// controller itself asks for this.
    FenceBroker {
        /// The broker.
        broker_id: i32,
    },
}

impl ControllerRequest {
    /// The request's name, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ControllerRequest::CreateTopic { .. } => "CreateTopic",
            ControllerRequest::DeleteTopic { .. } => "DeleteTopic",
            ControllerRequest::CreatePartitions { .. } => "CreatePartitions",
            ControllerRequest::ReplaceTopicConfigs { .. } => "ReplaceTopicConfigs",
            ControllerRequest::AlterTopicConfigs { .. } => "AlterTopicConfigs",
            ControllerRequest::AlterBrokerConfigs { .. } => "AlterBrokerConfigs",
            ControllerRequest::AlterGroupConfigs { .. } => "AlterGroupConfigs",
            ControllerRequest::ReplaceBrokerConfigs { .. } => "ReplaceBrokerConfigs",
            ControllerRequest::UnregisterBroker { .. } => "UnregisterBroker",
            ControllerRequest::AllocateProducerIds { .. } => "AllocateProducerIds",
            ControllerRequest::RegisterBroker { .. } => "RegisterBroker",
            ControllerRequest::AlterPartition(_) => "AlterPartition",
            ControllerRequest::BrokerHeartbeat { .. } => "BrokerHeartbeat",
            ControllerRequest::DescribeQuorum => "DescribeQuorum",
            ControllerRequest::ReassignPartitions { .. } => "ReassignPartitions",
            ControllerRequest::ElectLeaders { .. } => "ElectLeaders",
            ControllerRequest::BalanceLeaders { .. } => "BalanceLeaders",
            ControllerRequest::FenceBroker { .. } => "FenceBroker",
        }
    }
}

/// What the controller did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ControllerReply {
    /// The change committed (or was validated, or was not needed).
    Done,
    /// A topic was created (or validated): the records describing it.
    Created(Vec<MetadataRecord>),
    /// A topic was deleted.
    Deleted {
        /// Its name.
        name: String,
        /// Its id.
        id: Uuid,
    },
    /// The answer to a heartbeat.
    Heartbeat(HeartbeatReply),
    /// The quorum as the controller sees it.
    Quorum(QuorumStatus),
    /// Each move's outcome, in request order.
    Reassigned(Vec<Option<Rejection>>),
    /// Each election's outcome.
    Elected(Vec<(ElectionTarget, Option<Rejection>)>),
    /// A block of producer ids.
    ProducerIds {
        /// First id of the block.
        start: i64,
        /// One past the last id.
        end: i64,
    },
}

impl ControllerReply {
    /// The producer id block, if that is what this reply carries.
    pub fn producer_ids(&self) -> Option<Range<i64>> {
        match self {
            ControllerReply::ProducerIds { start, end } => Some(*start..*end),
            _ => None,
        }
    }
}

/// A controller answer as it travels back to a forwarding broker: the reply
/// and the image version that holds it, so the forwarder can wait until its
/// own image has caught up before it answers the client.
pub type ForwardReply = Result<(ControllerReply, u64), Rejection>;

/// Decides `request` against `image`; `fresh_id` names a topic created now.
/// A user operation is refused, as Kafka refuses it, when what it decided
/// is more than one operation may write or more than a broker may hold
/// (`limits`), whether or not it is only validated.
pub fn decide(
    image: &MetadataImage,
    request: &ControllerRequest,
    fresh_id: Uuid,
) -> Result<(Vec<MetadataRecord>, ControllerReply), Rejection> {
    let unless = |validate_only: bool, records: Vec<MetadataRecord>| {
        check_user_op(image, &records)?;
        Ok::<_, Rejection>(if validate_only { Vec::new() } else { records })
    };
    match request {
        ControllerRequest::CreateTopic {
            topic,
            defaults,
            validate_only,
            if_absent,
        } => {
            if *if_absent && image.topic(&topic.name).is_some() {
                return Ok((vec![], ControllerReply::Done));
            }
            let records = create_topic(image, topic, *defaults, fresh_id)?;
            Ok((
                unless(*validate_only, records.clone())?,
                ControllerReply::Created(records),
            ))
        }
        ControllerRequest::DeleteTopic { name, id } => {
            let (records, (name, id)) = delete_topic(image, name.as_deref(), *id)?;
            Ok((records, ControllerReply::Deleted { name, id }))
        }
        ControllerRequest::CreatePartitions {
            topic,
            count,
            assignments,
            validate_only,
        } => {
            let records = create_partitions(image, topic, *count, assignments.as_deref())?;
            Ok((unless(*validate_only, records)?, ControllerReply::Done))
        }
        ControllerRequest::ReplaceTopicConfigs {
            topic,
            configs,
            validate_only,
        } => {
            let records = replace_topic_configs(image, topic, configs)?;
            Ok((unless(*validate_only, records)?, ControllerReply::Done))
        }
        ControllerRequest::AlterTopicConfigs {
            topic,
            ops,
            validate_only,
        } => {
            let records = alter_topic_configs(image, topic, ops)?;
            Ok((unless(*validate_only, records)?, ControllerReply::Done))
        }
        ControllerRequest::AlterBrokerConfigs {
            resource,
            ops,
            validate_only,
        } => {
            let records = alter_broker_configs(image, resource, ops)?;
            Ok((unless(*validate_only, records)?, ControllerReply::Done))
        }
        ControllerRequest::AlterGroupConfigs {
            group,
            ops,
            bounds,
            validate_only,
        } => {
            let records = alter_group_configs(image, group, ops, bounds)?;
            Ok((unless(*validate_only, records)?, ControllerReply::Done))
        }
        ControllerRequest::ReplaceBrokerConfigs {
            resource,
            configs,
            validate_only,
        } => {
            let records = replace_broker_configs(image, resource, configs)?;
            Ok((unless(*validate_only, records)?, ControllerReply::Done))
        }
        ControllerRequest::UnregisterBroker { broker_id } => Ok((
            brokers::unregister(image, *broker_id)?,
            ControllerReply::Done,
        )),
        ControllerRequest::AllocateProducerIds { broker_id } => {
            let (records, block) = allocate_block(image, *broker_id)?;
            Ok((
                records,
                ControllerReply::ProducerIds {
                    start: block.start,
                    end: block.end,
                },
            ))
        }
        ControllerRequest::RegisterBroker { record, .. } => {
            Ok((brokers::register(image, record), ControllerReply::Done))
        }
        ControllerRequest::BrokerHeartbeat {
            broker_id,
            incarnation,
            want_shutdown,
        } => {
            let (records, reply) =
                brokers::heartbeat(image, *broker_id, *incarnation, *want_shutdown)?;
            Ok((records, ControllerReply::Heartbeat(reply)))
        }
        // Not a metadata change: the controller answers it from its Raft
        // state before deciding anything (`forwarding::decide_here`).
        ControllerRequest::DescribeQuorum => Err(Rejection::new(
            ResponseError::NotController,
            "DescribeQuorum is answered by the controller's quorum state",
        )),
        ControllerRequest::ReassignPartitions {
            moves,
            allow_rf_change,
        } => {
            if moves.len() > MAX_RECORDS_PER_USER_OP {
                return Err(excessively_large());
            }
            let (records, outcomes) = reassign_all(image, moves, *allow_rf_change);
            check_user_op(image, &records)?;
            Ok((records, ControllerReply::Reassigned(outcomes)))
        }
        ControllerRequest::ElectLeaders { kind, targets } => {
            if targets
                .as_ref()
                .is_some_and(|t| t.len() > MAX_RECORDS_PER_USER_OP)
            {
                return Err(excessively_large());
            }
            let (records, outcomes) = elect_all(image, *kind, targets.as_deref());
            check_user_op(image, &records)?;
            Ok((records, ControllerReply::Elected(outcomes)))
        }
        ControllerRequest::BalanceLeaders { imbalance_percent } => Ok((
            rebalance_leaders(image, *imbalance_percent),
            ControllerReply::Done,
        )),
        ControllerRequest::FenceBroker { broker_id } => {
            let records = if image.brokers.contains_key(broker_id) {
                brokers::fence(image, *broker_id)
            } else {
                Vec::new()
            };
            Ok((records, ControllerReply::Done))
        }
        ControllerRequest::AlterPartition(change) => {
            Ok((alter_partition(image, change)?, ControllerReply::Done))
        }
    }
}
