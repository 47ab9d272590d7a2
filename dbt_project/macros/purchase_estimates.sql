{#
  The purchase estimates and their log-normal spread, written once for the weekly and the yearly
  prevalence marts (docs/estimation.md).

  purchase_estimates: est_purchases_low, _central and _high, the advertiser-days times the model's
  share of advertisers working and clients per day at the same level (`parameters` is the relation
  of int_model_parameters). Three select columns, comma-separated.
#}
{% macro purchase_estimates(advertiser_days, parameters) -%}
    {%- for level in ['low', 'central', 'high'] %}
        {{ advertiser_days }}
        * {{ parameters }}.worked_share_{{ level }} * {{ parameters }}.clients_per_day_{{ level }}
        as est_purchases_{{ level }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#
  lognormal_log_sd: the log-scale standard deviation of a log-normal distribution whose 2.5 % and
  97.5 % points are `low` and `high` (a parameter range of the seed): ln(high / low) / (2 x 1.96).
#}
{% macro lognormal_log_sd(low, high) -%}
    ln({{ high }} / {{ low }}) / (2 * {{ hp_z() }})
{%- endmacro %}

{#
  lognormal_bound: the 2.5 % (side 'low') or 97.5 % (side 'high') point of `central` times
  independent log-normal factors with median 1 and the log-scale sds `log_sds` (their variances add).
#}
{% macro lognormal_bound(central, log_sds, side) -%}
    {%- if side not in ('low', 'high') -%}
        {{ exceptions.raise_compiler_error("lognormal_bound: side is 'low' or 'high', not " ~ side) }}
    {%- endif -%}
    {{ central }} * exp(
            {{ '-' if side == 'low' }}{{ hp_z() }} * sqrt(
                {%- for log_sd in log_sds %}
                {{ '+ ' if not loop.first }}power({{ log_sd }}, 2)
                {%- endfor %}
            )
        )
{%- endmacro %}
