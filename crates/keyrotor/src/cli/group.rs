//! `keyrotor group`: resource groups.

use anyhow::Result;
use keyrotor_arm::wire::api_versions::RESOURCES;
use keyrotor_arm::wire::group::ResourceGroupRequest;
use keyrotor_arm::wire::{ids, List};
use reqwest::Method;
use serde_json::Value;

use super::args::{confirm, parse_tags};
use super::client::body;
use super::output::emit;
use super::Session;

#[derive(Debug, clap::Subcommand)]
pub enum GroupCmd {
    /// Create (or update) a resource group.
    Create {
        /// Name of the resource group.
        #[arg(short = 'n', long)]
        name: String,
        /// Location of the group (its accounts and vaults default to it).
        #[arg(short = 'l', long)]
        location: String,
        /// Space-separated tags: key[=value].
        #[arg(long, num_args = 0..)]
        tags: Vec<String>,
    },
    /// List resource groups.
    List,
    /// Show one resource group.
    Show {
        /// Name of the resource group.
        #[arg(short = 'n', long)]
        name: String,
    },
    /// Delete a resource group and every account in it.
    Delete {
        /// Name of the resource group.
        #[arg(short = 'n', long)]
        name: String,
        /// Do not prompt for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
    },
}

const GROUP_COLUMNS: &[(&str, &str)] = &[
    ("Name", "/name"),
    ("Location", "/location"),
    ("Status", "/properties/provisioningState"),
];

pub(super) async fn run(c: &Session, cmd: GroupCmd) -> Result<()> {
    match cmd {
        GroupCmd::Create {
            name,
            location,
            tags,
        } => {
            let v = c
                .arm
                .ok(
                    Method::PUT,
                    &c.group_path(&name),
                    RESOURCES,
                    body(&ResourceGroupRequest {
                        location: Some(location),
                        tags: Some(parse_tags(&tags)),
                    })?,
                )
                .await?;
            emit(c.output, &v, GROUP_COLUMNS)
        }
        GroupCmd::List => {
            let v: List<Value> = c
                .arm
                .ok_as(Method::GET, &ids::groups(&c.subscription), RESOURCES, None)
                .await?;
            emit(c.output, &Value::Array(v.value), GROUP_COLUMNS)
        }
        GroupCmd::Show { name } => {
            let v = c
                .arm
                .ok(Method::GET, &c.group_path(&name), RESOURCES, None)
                .await?;
            emit(c.output, &v, GROUP_COLUMNS)
        }
        GroupCmd::Delete { name, yes } => {
            confirm(
                &format!("delete resource group '{name}' and every account in it"),
                yes,
            )?;
            c.arm
                .ok(Method::DELETE, &c.group_path(&name), RESOURCES, None)
                .await?;
            Ok(())
        }
    }
}
